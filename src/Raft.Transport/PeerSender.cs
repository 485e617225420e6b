using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport;

/// <summary>
/// Sends to one peer over one long-lived client stream: drains its bounded queue into batches, reconnects with
/// exponential backoff and jitter when the stream breaks. Snapshots go over a separate chunked call.
/// </summary>
internal sealed partial class PeerSender : IAsyncDisposable
{
    private readonly TransportOptions _options;
    private readonly ulong _peerId;
    private readonly Uri _address;
    private readonly IRaftInbox _inbox;
    private readonly ILogger _logger;
    private readonly Channel<Message> _queue;
    private readonly Channel<Message> _snapshots = Channel.CreateBounded<Message>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stop = new();
    private readonly GrpcChannel _channel;
    private readonly Task _streamLoop;
    private readonly Task _snapshotLoop;
    private long _dropped;
    private int _unreachableReported;

    /// <summary>The peer URL this sender connects to.</summary>
    public Uri Address => _address;

    public PeerSender(TransportOptions options, ulong peerId, Uri address, IRaftInbox inbox, ILogger logger)
    {
        _options = options;
        _peerId = peerId;
        _address = address;
        _inbox = inbox;
        _logger = logger;
        _queue = Channel.CreateBounded<Message>(new BoundedChannelOptions(options.QueueCapacityMessages)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout,
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        if (options.PeerTls is { } tls) handler.SslOptions = tls;
        options.ConfigurePeerHandler?.Invoke(handler);
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
            // The channel's own connection backoff, under this sender's: gRPC's defaults (1 s, growing to 120 s) kept
            // calls to a peer that came back failing fast for seconds to minutes after it listened again.
            InitialReconnectBackoff = options.ReconnectInitialDelay,
            MaxReconnectBackoff = options.ReconnectMaxDelay,
        });
        Client = new RaftPeer.RaftPeerClient(_channel);
        _streamLoop = Task.Run(RunStreamAsync);
        _snapshotLoop = Task.Run(RunSnapshotsAsync);
    }

    /// <summary>A client on this peer's channel, for unary calls.</summary>
    public RaftPeer.RaftPeerClient Client { get; }

    /// <summary>Messages dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues a message; never blocks. A full queue drops it and tells Raft the peer is unreachable.</summary>
    public void Enqueue(Message message)
    {
        if (message.Type == MessageType.Snapshot)
        {
            if (!_snapshots.Writer.TryWrite(message)) _inbox.ReportSnapshot(_peerId, delivered: false);
            return;
        }
        if (_queue.Writer.TryWrite(message)) return;
        Interlocked.Increment(ref _dropped);
        if (Interlocked.Exchange(ref _unreachableReported, 1) == 0) _inbox.ReportUnreachable(_peerId);
    }

    private async Task RunStreamAsync()
    {
        var client = new RaftPeer.RaftPeerClient(_channel);
        var delay = _options.ReconnectInitialDelay;
        var reader = _queue.Reader;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var call = client.Stream(cancellationToken: _stop.Token);
                while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
                {
                    var batch = new MessageBatch { ClusterId = _options.ClusterId, From = _options.LocalId, To = _peerId };
                    long bytes = 0;
                    while (batch.Messages.Count < _options.MaxBatchMessages && bytes < _options.MaxBatchBytes && reader.TryRead(out var m))
                    {
                        var wire = MessageCodec.ToWire(m);
                        batch.Messages.Add(wire);
                        foreach (var e in m.Entries) bytes += e.SizeBytes;
                    }
                    await call.RequestStream.WriteAsync(batch, _stop.Token).ConfigureAwait(false);
                    delay = _options.ReconnectInitialDelay;
                    Volatile.Write(ref _unreachableReported, 0);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException)
            {
                LogStreamBroken(_logger, _options.NameOf(_peerId), _address, e.Message);
                _inbox.ReportUnreachable(_peerId);
            }
            delay = await BackoffAsync(delay).ConfigureAwait(false);
        }
    }

    private async Task<TimeSpan> BackoffAsync(TimeSpan delay)
    {
        // Full jitter around the current delay keeps reconnecting nodes from moving in lockstep.
        var jittered = delay * (0.5 + Random.Shared.NextDouble());
        try
        {
            await Task.Delay(jittered, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        var next = delay * 2;
        return next > _options.ReconnectMaxDelay ? _options.ReconnectMaxDelay : next;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        _snapshots.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_streamLoop, _snapshotLoop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _channel.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "stream to {Peer} at {Address} broke: {Reason}")]
    private static partial void LogStreamBroken(ILogger logger, string peer, Uri address, string reason);

}
