using RaftKv.Raft.Hosting;

namespace RaftKv.Raft.Transport;

/// <summary>Limits and timings of the gRPC transport.</summary>
public sealed record TransportOptions
{
    /// <summary>This node's id.</summary>
    public required ulong LocalId { get; init; }

    /// <summary>Identifies the cluster; messages from another cluster are refused.</summary>
    public required ulong ClusterId { get; init; }

    /// <summary>Peer ids and their peer URLs (http://host:port), without this node.</summary>
    public required IReadOnlyDictionary<ulong, Uri> Peers { get; init; }

    /// <summary>Messages queued per peer; more are dropped and the peer is reported unreachable.</summary>
    public int QueueCapacityMessages { get; init; } = 4096;

    /// <summary>Most messages written in one batch.</summary>
    public int MaxBatchMessages { get; init; } = 512;

    /// <summary>Approximate entry bytes per batch; a batch closes once past it.</summary>
    public long MaxBatchBytes { get; init; } = 4L * 1024 * 1024;

    /// <summary>Snapshot chunk size (the data of one chunk message, inline data and payloads alike).</summary>
    public int SnapshotChunkBytes { get; init; } = 1024 * 1024;

    /// <summary>Largest snapshot data accepted inline from a peer (it is reassembled in memory, so also at most <see cref="Array.MaxLength"/>).</summary>
    public long MaxSnapshotBytes { get; init; } = 4L * 1024 * 1024 * 1024;

    /// <summary>
    /// The state machine, when its snapshots carry only a descriptor and the state travels beside the snapshot
    /// message as a payload (see <see cref="ISnapshotPayloads"/>): sent from <see cref="ISnapshotPayloads.OpenPayload"/>,
    /// received into <see cref="ISnapshotPayloads.AcceptPayload"/>. Null (the default): a snapshot's data is the whole
    /// state and travels inline. Every member must agree; a snapshot between members that do not is refused.
    /// </summary>
    public ISnapshotPayloads? SnapshotPayloads { get; init; }

    /// <summary>
    /// Largest snapshot payload accepted from a peer, in bytes (1 TiB by default). It bounds the number of chunks
    /// too: every chunk but the first and the last must carry data.
    /// </summary>
    public long MaxSnapshotPayloadBytes { get; init; } = 1L << 40;

    /// <summary>Received payload chunks buffered ahead of <see cref="ISnapshotPayloads.AcceptPayload"/>; the sender waits beyond it.</summary>
    public int SnapshotPayloadBufferChunks { get; init; } = 4;

    /// <summary>
    /// First reconnect delay; doubles up to <see cref="ReconnectMaxDelay"/>, with jitter. Also the gRPC channel's own
    /// connection backoff, which without it starts at 1 s and grows to 120 s.
    /// </summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Longest reconnect delay, of this transport's and of the gRPC channel's backoff. Default 200 ms (etcd's peer
    /// streams redial every 100 ms): a member that listens again is reached within it, which decides how soon a
    /// cluster restarted as a whole elects; a peer that stays down costs one refused connection per interval.
    /// </summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>TCP connect timeout to a peer.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// TLS for the connections to peers (used when a peer URL is https): client certificate, server certificate
    /// validation (<see cref="System.Net.Security.SslClientAuthenticationOptions.RemoteCertificateValidationCallback"/>),
    /// protocols. Null: the system's defaults. The server side is Kestrel's: configure its HTTPS endpoint.
    /// </summary>
    public System.Net.Security.SslClientAuthenticationOptions? PeerTls { get; init; }

    /// <summary>
    /// Called on each peer channel's handler after the transport set its own values (timeouts, keep-alive,
    /// <see cref="PeerTls"/>), for anything else: a proxy, certificate callbacks, connection limits.
    /// </summary>
    public Action<SocketsHttpHandler>? ConfigurePeerHandler { get; init; }

    /// <summary>Maps ids to names in logs.</summary>
    public Func<ulong, string> NameOf { get; init; } = id => id.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (QueueCapacityMessages <= 0) throw new ArgumentException("QueueCapacityMessages must be positive", nameof(QueueCapacityMessages));
        if (MaxBatchMessages <= 0) throw new ArgumentException("MaxBatchMessages must be positive", nameof(MaxBatchMessages));
        if (SnapshotChunkBytes <= 0) throw new ArgumentException("SnapshotChunkBytes must be positive", nameof(SnapshotChunkBytes));
        if (MaxSnapshotBytes < 0) throw new ArgumentException("MaxSnapshotBytes must not be negative", nameof(MaxSnapshotBytes));
        if (MaxSnapshotPayloadBytes <= 0) throw new ArgumentException("MaxSnapshotPayloadBytes must be positive", nameof(MaxSnapshotPayloadBytes));
        if (SnapshotPayloadBufferChunks <= 0) throw new ArgumentException("SnapshotPayloadBufferChunks must be positive", nameof(SnapshotPayloadBufferChunks));
    }
}
