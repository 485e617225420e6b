using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaftKv.Raft.Hosting;

namespace RaftKv.Raft.Transport;

/// <summary>
/// <see cref="IRaftTransport"/> over gRPC: one <see cref="PeerSender"/> per peer for outbound traffic, and
/// <see cref="RaftPeerService"/> (mapped on the peer URL) for inbound traffic. Snapshots travel on calls of their
/// own, their data inline, or as the state machine's payload when <see cref="TransportOptions.SnapshotPayloads"/> is set.
/// </summary>
public sealed class GrpcTransport : IRaftTransport
{
    private readonly TransportOptions _options;
    private readonly ILogger _logger;
    // Replaced whole (copy on write) under _peersLock, read without it: Send runs on the Raft loop.
    private volatile Dictionary<ulong, PeerSender> _senders = [];
    private readonly Lock _peersLock = new();
    private IReadOnlyDictionary<ulong, Uri> _peers;
    private IRaftInbox? _inbox;

    /// <summary>Creates the transport; nothing connects until <see cref="Start"/>.</summary>
    public GrpcTransport(TransportOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _peers = options.Peers;
        Snapshots = new SnapshotReceiver(this);
    }

    /// <summary>The settings.</summary>
    public TransportOptions Options => _options;

    /// <summary>Where inbound messages go; null until started.</summary>
    public IRaftInbox? Inbox => Volatile.Read(ref _inbox);

    /// <summary>Receives the snapshots sent to this member (one payload at a time).</summary>
    internal SnapshotReceiver Snapshots { get; }

    /// <summary>Refuses a call from another cluster, or addressed to another member.</summary>
    /// <exception cref="RpcException">FailedPrecondition: the ids do not match.</exception>
    internal void CheckIdentity(ulong clusterId, ulong to)
    {
        if (clusterId != _options.ClusterId)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"cluster id mismatch: this member belongs to cluster {_options.ClusterId:x16}, the sender to {clusterId:x16}"));
        if (to != _options.LocalId)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"member id mismatch: this is member {_options.LocalId:x16}, the sender addressed {to:x16}"));
    }

    /// <inheritdoc />
    public void Start(IRaftInbox inbox)
    {
        ArgumentNullException.ThrowIfNull(inbox);
        lock (_peersLock)
        {
            if (Interlocked.CompareExchange(ref _inbox, inbox, null) is not null) throw new InvalidOperationException("already started");
            var senders = new Dictionary<ulong, PeerSender>();
            foreach (var (id, address) in _peers)
            {
                if (id == _options.LocalId) continue;
                senders[id] = new PeerSender(_options, id, address, inbox, _logger);
            }
            _senders = senders;
        }
    }

    /// <summary>The peers sent to now (ids and peer URLs).</summary>
    public IReadOnlyDictionary<ulong, Uri> Peers
    {
        get
        {
            lock (_peersLock) return _peers;
        }
    }

    /// <summary>
    /// Replaces the set of peers (ids and peer URLs; this node's own id is ignored), as a membership change does: a new
    /// peer gets a sender, a removed one is disconnected (what was queued for it is dropped), one whose URL changed is
    /// reconnected. Thread-safe; before <see cref="Start"/> it replaces <see cref="TransportOptions.Peers"/>.
    /// </summary>
    public void SetPeers(IReadOnlyDictionary<ulong, Uri> peers)
    {
        ArgumentNullException.ThrowIfNull(peers);
        var retired = new List<PeerSender>();
        lock (_peersLock)
        {
            _peers = peers.Where(p => p.Key != _options.LocalId).ToDictionary(p => p.Key, p => p.Value);
            if (Inbox is not { } inbox) return;
            var current = _senders;
            var next = new Dictionary<ulong, PeerSender>();
            foreach (var (id, address) in _peers)
            {
                if (current.TryGetValue(id, out var sender) && sender.Address == address) next[id] = sender;
                else next[id] = new PeerSender(_options, id, address, inbox, _logger);
            }
            retired.AddRange(current.Where(c => !next.TryGetValue(c.Key, out var kept) || !ReferenceEquals(kept, c.Value)).Select(c => c.Value));
            _senders = next;
        }
        foreach (var sender in retired) _ = sender.DisposeAsync().AsTask();
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

    /// <summary>Asks a peer who it is (cluster and member id), for a reachability probe; throws when it cannot be reached.</summary>
    public async Task<Protocol.PingReply> PingAsync(ulong peerId, CancellationToken cancellationToken)
    {
        if (!_senders.TryGetValue(peerId, out var sender)) throw new ArgumentException($"unknown peer {peerId:x16}", nameof(peerId));
        return await sender.Client.PingAsync(new Protocol.PingRequest { ClusterId = _options.ClusterId, From = _options.LocalId, To = peerId },
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Messages dropped per peer because its queue was full.</summary>
    public IReadOnlyDictionary<ulong, long> DroppedMessages => _senders.ToDictionary(s => s.Key, s => s.Value.Dropped);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Dictionary<ulong, PeerSender> senders;
        lock (_peersLock)
        {
            senders = _senders;
            _senders = [];
        }
        foreach (var sender in senders.Values) await sender.DisposeAsync().ConfigureAwait(false);
    }
}
