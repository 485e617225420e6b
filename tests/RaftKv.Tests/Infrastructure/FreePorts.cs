using System.Net;
using System.Net.Sockets;

namespace RaftKv.Tests.Infrastructure;

/// <summary>Loopback ports the OS says are free right now (tests never use fixed ports).</summary>
public static class FreePorts
{
    private static readonly object Gate = new();
    private static readonly HashSet<int> Handed = [];

    public static int Next()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Handed.Add(port)) return port;
            }
            throw new InvalidOperationException("no free loopback port found in 100 attempts");
        }
    }
}
