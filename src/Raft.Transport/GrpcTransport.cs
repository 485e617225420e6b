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
    private readonly Dictionary<ulong, PeerSender> _senders = [];
    private IRaftInbox? _inbox;

    /// <summary>Creates the transport; nothing connects until <see cref="Start"/>.</summary>
    public GrpcTransport(TransportOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
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

    /// <summary>Handles requests forwarded by followers (set by the application before traffic arrives).</summary>
    public Func<ReadOnlyMemory<byte>, CancellationToken, Task<ReadOnlyMemory<byte>>>? ForwardHandler { get; set; }

    /// <summary>Sends an application request to <paramref name="peerId"/> (normally the leader) and returns its reply.</summary>
    /// <exception cref="Grpc.Core.RpcException">The peer is unreachable or refused the request.</exception>
    public async Task<ReadOnlyMemory<byte>> ForwardAsync(ulong peerId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (!_senders.TryGetValue(peerId, out var sender)) throw new ArgumentException($"unknown peer {peerId:x16}", nameof(peerId));
        var reply = await sender.Client.ForwardAsync(new Protocol.ForwardRequest
        {
            ClusterId = _options.ClusterId, From = _options.LocalId, To = peerId, Payload = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(payload),
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return reply.Payload.Memory;
    }

    /// <summary>Asks a peer who it is (name, client URLs); throws when it cannot be reached.</summary>
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
        foreach (var sender in _senders.Values) await sender.DisposeAsync().ConfigureAwait(false);
        _senders.Clear();
    }
}
