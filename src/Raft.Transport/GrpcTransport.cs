using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaftKv.Raft.Hosting;

namespace RaftKv.Raft.Transport;

/// <summary>
/// <see cref="IRaftTransport"/> over gRPC: one <see cref="PeerSender"/> per peer for outbound traffic, and
/// <see cref="RaftPeerService"/> (mapped on the peer URL) for inbound traffic.
/// </summary>
public sealed class GrpcTransport : IRaftTransport
{
    private readonly TransportOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<ulong, PeerSender> _senders = [];
    private IRaftInbox? _inbox;

    /// <summary>Creates the transport; nothing connects until <see cref="Start"/>.</summary>
    public GrpcTransport(TransportOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The settings.</summary>
    public TransportOptions Options => _options;

    /// <summary>Where inbound messages go; null until started.</summary>
    public IRaftInbox? Inbox => Volatile.Read(ref _inbox);

    /// <inheritdoc />
    public void Start(IRaftInbox inbox)
    {
        ArgumentNullException.ThrowIfNull(inbox);
        if (Interlocked.CompareExchange(ref _inbox, inbox, null) is not null) throw new InvalidOperationException("already started");
        foreach (var (id, address) in _options.Peers)
        {
            if (id == _options.LocalId) continue;
            _senders[id] = new PeerSender(_options, id, address, inbox, _logger);
        }
    }

    /// <inheritdoc />
    public void Send(IReadOnlyList<Message> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var m in messages)
        {
            if (_senders.TryGetValue(m.To, out var sender)) sender.Enqueue(m);
        }
    }

    /// <summary>Messages dropped per peer because its queue was full.</summary>
    public IReadOnlyDictionary<ulong, long> DroppedMessages => _senders.ToDictionary(s => s.Key, s => s.Value.Dropped);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var sender in _senders.Values) await sender.DisposeAsync().ConfigureAwait(false);
        _senders.Clear();
    }
}
