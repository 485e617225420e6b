namespace RaftKv.Server;

/// <summary>Whether this member starts a new cluster or joins an existing one.</summary>
public enum InitialClusterState
{
    /// <summary>Bootstrap a new cluster from --initial-cluster.</summary>
    New,
    /// <summary>Join a running cluster that has added this member (MemberAdd) already.</summary>
    Existing,
}

/// <summary>Where a member keeps its key-value state.</summary>
public enum StoreBackend
{
    /// <summary>On disk, in RocksDB under <c>member/state</c>: data larger than memory, restart without a rebuild, snapshots streamed.</summary>
    Disk,
    /// <summary>In the managed heap, rebuilt from a snapshot on restart; bounded by memory (the store before issue 12).</summary>
    Memory,
}

/// <summary>Everything <c>raftkv serve</c> was told, validated.</summary>
public sealed record ServerSettings
{
    public required string Name { get; init; }
    public required string DataDir { get; init; }
    public required IReadOnlyList<Uri> ListenClientUrls { get; init; }
    public required IReadOnlyList<Uri> AdvertiseClientUrls { get; init; }
    public required IReadOnlyList<Uri> ListenPeerUrls { get; init; }
    public required Uri AdvertisePeerUrl { get; init; }
    public required IReadOnlyList<Uri> ListenHttpUrls { get; init; }
    public required Membership Membership { get; init; }
    public required string ClusterToken { get; init; }
    public required InitialClusterState InitialClusterState { get; init; }
    public required int HeartbeatIntervalMs { get; init; }
    public required int ElectionTimeoutMs { get; init; }
    public required long MaxRequestBytes { get; init; }
    public required long QuotaBackendBytes { get; init; }
    public required ulong SnapshotCount { get; init; }
    public StoreBackend Backend { get; init; } = StoreBackend.Disk;
    /// <summary>The disk store's block cache (RocksDB's), in bytes.</summary>
    public long BackendCacheBytes { get; init; } = Kv.Backend.KvBackendOptions.Default.BlockCacheSizeBytes;
    /// <summary>How often a quiet progress_notify watcher hears the revision (etcd's --experimental-watch-progress-notify-interval).</summary>
    public TimeSpan WatchProgressNotifyInterval { get; init; } = Watch.WatchLimits.Default.ProgressNotifyInterval;
    /// <summary>Watch streams one member serves at once.</summary>
    public int MaxWatchStreams { get; init; } = Watch.WatchLimits.Default.StreamsMax;
    /// <summary>Watchers on one Watch stream.</summary>
    public int MaxWatchersPerStream { get; init; } = Watch.WatchLimits.Default.WatchersPerStreamMax;
    /// <summary>
    /// How often the leader checkpoints each lease's remaining TTL through the log (etcd's
    /// --experimental-lease-checkpoint-interval, 5 min); null when checkpoints are off
    /// (--experimental-enable-lease-checkpoint=false). On by default, unlike etcd: see <see cref="Leases.LeaseCheckpointer"/>.
    /// </summary>
    public TimeSpan? LeaseCheckpointInterval { get; init; } = Leases.LeaseCheckpointer.DefaultInterval;
    /// <summary>Learners the cluster may have at once (etcd's --max-learners).</summary>
    public int MaxLearners { get; init; } = 1;
    /// <summary>Whether the leader promotes a learner by itself once it is in sync (raftkv's own, off by default as in etcd).</summary>
    public bool AutoPromoteLearners { get; init; }
    /// <summary>
    /// etcd's --initial-election-tick-advance: once listening, and once enough peers answer to elect, the member's
    /// election timer is fast-forwarded to one tick short of the timeout (see <see cref="Cluster.ElectionTickAdvance"/>).
    /// </summary>
    public bool InitialElectionTickAdvance { get; init; } = true;
    public required bool AllowFaultInjection { get; init; }
    /// <summary>TLS of the https:// client (and HTTP) URLs; null when none is https (see <see cref="Tls.TlsEndpoint"/>).</summary>
    public Tls.TlsEndpoint? ClientTls { get; init; }
    /// <summary>TLS of the https:// peer URLs and of this member's connections to other members' peer ports; null for plaintext.</summary>
    public Tls.TlsEndpoint? PeerTls { get; init; }
    /// <summary>HTTP/2 streams one connection may have open at once (etcd's --max-concurrent-streams; Kestrel's MaxStreamsPerConnection).</summary>
    public int MaxConcurrentStreams { get; init; } = 100;
    /// <summary>Connections, request rates and leases clients may use (see <see cref="Limits.ClientLimits"/>).</summary>
    public Limits.ClientLimits Limits { get; init; } = Server.Limits.ClientLimits.Default;
    /// <summary>How long an unused simple auth token lives (etcd's --auth-token-ttl, 300 s).</summary>
    public TimeSpan AuthTokenTtl { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>etcd's --auth-token: simple tokens, or JWTs with their key and ttl.</summary>
    public Auth.AuthTokenOptions AuthToken { get; init; } = Auth.AuthTokenOptions.Simple;

    /// <summary>This member.</summary>
    public Member Self => Membership.Find(Name)!;

    /// <summary>Checks combinations of flags; returns the first problem, or null.</summary>
    public static string? Validate(ServerSettings s)
    {
        if (s.Membership.Find(s.Name) is not { } self)
            return $"--name '{s.Name}' is not in --initial-cluster ({string.Join(", ", s.Membership.Members.Select(m => m.Name))})";
        if (!SameEndpoint(self.PeerUrl, s.AdvertisePeerUrl))
            return $"--initial-advertise-peer-urls {s.AdvertisePeerUrl} does not match this member's URL in --initial-cluster ({self.PeerUrl})";
        if (s.ElectionTimeoutMs < 5 * s.HeartbeatIntervalMs)
            return $"--election-timeout ({s.ElectionTimeoutMs} ms) must be at least 5 times --heartbeat-interval ({s.HeartbeatIntervalMs} ms)";
        var ports = s.ListenClientUrls.Concat(s.ListenPeerUrls).Concat(s.ListenHttpUrls).GroupBy(u => (u.Host, u.Port)).FirstOrDefault(g => g.Count() > 1);
        if (ports is not null) return $"{ports.Key.Host}:{ports.Key.Port} is given for more than one of --listen-client-urls, --listen-peer-urls, --listen-http-urls";
        if (ServerLimits.Validate(s.MaxRequestBytes, s.QuotaBackendBytes, s.Backend) is { } limits) return limits;
        if (s.InitialClusterState == InitialClusterState.Existing && s.Membership.Members.All(m => m.Name == s.Name))
            return "--initial-cluster-state existing needs --initial-cluster to name at least one running member besides this one";
        return null;
    }

    private static bool SameEndpoint(Uri a, Uri b) =>
        string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
}
