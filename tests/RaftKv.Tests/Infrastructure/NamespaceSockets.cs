using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Grpc.Net.Client;

namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// TCP sockets made inside a network namespace, for a test process that itself stays in the machine's own: one
/// dedicated thread enters the namespace (<c>setns</c> changes the network namespace of the calling thread only) and
/// creates sockets there on request; a socket belongs to the namespace it was created in, whichever thread then uses
/// it. <see cref="Handler"/> gives HTTP and gRPC clients whose connections all start in that namespace.
/// </summary>
internal sealed class NamespaceSockets : IDisposable
{
    private const int CloneNewNet = 0x40000000;

    // Sockets are made in a few microseconds each; the bound only keeps a runaway caller from queueing without end.
    private readonly BlockingCollection<TaskCompletionSource<Socket>> _requests = new(boundedCapacity: 1024);

    /// <summary>Starts the thread and enters <paramref name="namespaceName"/> (a name <c>ip netns add</c> made); throws when it cannot.</summary>
    public NamespaceSockets(string namespaceName)
    {
        Namespace = namespaceName;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => Run(entered)) { IsBackground = true, Name = $"sockets in {namespaceName}" };
        thread.Start();
        entered.Task.GetAwaiter().GetResult();
    }

    /// <summary>The namespace the sockets are made in.</summary>
    public string Namespace { get; }

    /// <summary>A handler for HttpClient or GrpcChannel whose every connection is made in <see cref="Namespace"/>.</summary>
    public SocketsHttpHandler Handler() => new()
    {
        ConnectCallback = ConnectAsync,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        EnableMultipleHttp2Connections = true,
    };

    /// <summary>A gRPC channel to <paramref name="url"/> whose connections start in <paramref name="via"/>'s namespace, or in this process's when null.</summary>
    public static GrpcChannel OpenChannel(string url, NamespaceSockets? via) =>
        via is null ? GrpcChannel.ForAddress(url) : GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = via.Handler() });

    /// <summary>A connected TCP stream to the context's endpoint, from a socket made in <see cref="Namespace"/>.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Add(request, cancellationToken);
        var socket = await request.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => _requests.CompleteAdding();

    private void Run(TaskCompletionSource entered)
    {
        try
        {
            using var handle = File.OpenHandle($"/run/netns/{Namespace}");
            if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                throw new IOException($"setns into network namespace {Namespace} failed: errno {Marshal.GetLastPInvokeError()}");
        }
        catch (Exception e)
        {
            entered.SetException(e);
            return;
        }
        entered.SetResult();
        foreach (var request in _requests.GetConsumingEnumerable())
        {
            try
            {
                request.SetResult(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
            }
            catch (SocketException e)
            {
                request.SetException(e);
            }
        }
    }

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nsType);
}
