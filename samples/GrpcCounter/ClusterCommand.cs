using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace RaftKv.Samples.GrpcCounter;

/// <summary>
/// Starts three <c>node</c> processes of this program on free loopback ports, prints one line per node
/// (<c>node N pid P api URL</c>), and stops them when standard input ends or on Ctrl+C.
/// </summary>
public static class ClusterCommand
{
    private const int Nodes = 3;

    /// <summary>Runs the cluster until stopped.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var data = NodeCommand.OptionOrNull(args, "--data") ?? Directory.CreateTempSubdirectory("grpc-counter-").FullName;
        var members = Enumerable.Range(1, Nodes).ToDictionary(i => (ulong)i, _ => (Peer: FreeUrl(), Api: FreeUrl()));
        var membersArg = string.Join(',', members.Select(m => $"{m.Key}={m.Value.Peer}|{m.Value.Api}"));
        var children = new List<Process>();
        try
        {
            foreach (var (id, urls) in members)
            {
                var child = Start(["node", "--id", id.ToString(), "--members", membersArg, "--data", data, "--parent", Environment.ProcessId.ToString()]);
                children.Add(child);
                Console.WriteLine($"node {id} pid {child.Id} api {urls.Api}");
            }
            Console.WriteLine($"data in {data}; try: curl -L -X POST {members[1].Api}add/5 ; curl {members[2].Api}value");
            Console.WriteLine("press Enter (or close input) to stop");
            using var stop = new CancellationTokenSource();
            // Ctrl+C and SIGTERM stop the children first (the default would end this process at once).
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }
            var input = Task.Run(Console.In.ReadLine);
            await Task.WhenAny(input, Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default));
            return 0;
        }
        finally
        {
            foreach (var child in children)
            {
                if (!child.HasExited) child.Kill(entireProcessTree: true);
                await child.WaitForExitAsync();
                child.Dispose();
            }
            Console.WriteLine("stopped");
        }
    }

    // This program again, as "dotnet RaftKv.Samples.GrpcCounter.dll ..." or through its apphost.
    private static Process Start(string[] args)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(ClusterCommand).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    // The OS picks a free port; released at once and bound again by the child (peers must know it beforehand).
    private static Uri FreeUrl()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
    }
}
