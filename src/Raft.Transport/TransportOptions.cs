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

    /// <summary>Snapshot chunk size.</summary>
    public int SnapshotChunkBytes { get; init; } = 1024 * 1024;

    /// <summary>Largest snapshot accepted from a peer.</summary>
    public long MaxSnapshotBytes { get; init; } = 4L * 1024 * 1024 * 1024;

    /// <summary>First reconnect delay; doubles up to <see cref="ReconnectMaxDelay"/>, with jitter.</summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest reconnect delay.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>TCP connect timeout to a peer.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>This member's name and client URLs, told to peers that ping it (for member lists).</summary>
    public string LocalName { get; init; } = "";

    /// <summary>Client URLs this member advertises.</summary>
    public IReadOnlyList<string> LocalClientUrls { get; init; } = [];

    /// <summary>Maps ids to names in logs.</summary>
    public Func<ulong, string> NameOf { get; init; } = id => id.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}
