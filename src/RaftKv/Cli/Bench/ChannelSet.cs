using System.Net.Http;
using Grpc.Net.Client;

namespace RaftKv.Cli.Bench;

/// <summary>
/// The <c>--conns</c> gRPC channels: each has its own <see cref="SocketsHttpHandler"/> (so its own TCP connection),
/// channel i goes to target i mod n, and clients share them round-robin.
/// </summary>
public sealed class ChannelSet : IDisposable
{
    private readonly GrpcChannel[] _channels;

    private ChannelSet(GrpcChannel[] channels) => _channels = channels;

    /// <summary>The channels, in creation order.</summary>
    public IReadOnlyList<GrpcChannel> Channels => _channels;

    /// <summary>Opens <paramref name="connections"/> channels over <paramref name="targets"/> (no I/O until the first call).</summary>
    public static ChannelSet Create(IReadOnlyList<Uri> targets, int connections)
    {
        ArgumentOutOfRangeException.ThrowIfZero(targets.Count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(connections);
        var channels = new GrpcChannel[connections];
        for (var i = 0; i < connections; i++) channels[i] = Open(targets[i % targets.Count]);
        return new ChannelSet(channels);
    }

    /// <summary>The channel client <paramref name="client"/> uses.</summary>
    public GrpcChannel For(int client) => _channels[client % _channels.Length];

    /// <summary>One channel to <paramref name="target"/>, configured for many concurrent calls.</summary>
    public static GrpcChannel Open(Uri target)
    {
        var handler = new SocketsHttpHandler
        {
            // More than the server's stream limit (Kestrel: 100) of concurrent calls opens another connection
            // instead of queueing behind the limit.
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        };
        if (BenchTls.Options is { } tls) handler.SslOptions = tls;
        return GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var c in _channels) c.Dispose();
    }
}
