namespace RaftKv.Cli.Bench;

/// <summary>What one <c>raftkv bench</c> run does; built from the command line by <see cref="BenchCommand"/>.</summary>
public sealed record BenchSettings
{
    /// <summary>Workload name: put, range, txn, mixed, status, peer-ping or fsync (see <see cref="BenchWorkloads"/>).</summary>
    public required string Workload { get; init; }

    /// <summary>Client (or, for peer-ping, peer) URLs, normalized to http(s)://host:port.</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    /// <summary>True: every channel goes to the leader (found with Maintenance.Status); false: channels spread over all endpoints.</summary>
    public bool LeaderOnly { get; init; } = true;

    /// <summary>Logical workers; in open loop, the cap on outstanding requests.</summary>
    public int Clients { get; init; } = 1;

    /// <summary>gRPC channels (each its own connection pool), shared round-robin by the clients.</summary>
    public int Connections { get; init; } = 1;

    /// <summary>Requests to issue (successful or not); null when only <see cref="Duration"/> bounds the run.</summary>
    public long? Total { get; init; }

    /// <summary>How long to issue requests; null when only <see cref="Total"/> bounds the run.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Open-loop rate in requests per second over all clients; null for closed loop.</summary>
    public double? RatePerSecond { get; init; }

    /// <summary>Key length in bytes (decimal index, zero-padded).</summary>
    public int KeySizeBytes { get; init; } = 8;

    /// <summary>Value length in bytes.</summary>
    public int ValueSizeBytes { get; init; } = 8;

    /// <summary>Number of distinct keys.</summary>
    public long KeySpace { get; init; } = 10_000;

    /// <summary>Keys 0, 1, 2, ... (mod key space) instead of uniformly random ones.</summary>
    public bool SequentialKeys { get; init; }

    /// <summary>Range reads with serializable=true (local, no ReadIndex) instead of linearizable.</summary>
    public bool Serializable { get; init; }

    /// <summary>Fraction of reads in the mixed workload (0..1).</summary>
    public double ReadRatio { get; init; } = 0.9;

    /// <summary>Number of counters (keys cas/0 .. cas/N-1) the txn workload increments.</summary>
    public int CasKeys { get; init; } = 10;

    /// <summary>Write every key of the key space once before measuring (range and mixed workloads).</summary>
    public bool Prefill { get; init; }

    /// <summary>Deadline of each request.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Directory of the fsync workload's scratch file (put it on the disk the servers use).</summary>
    public string FsyncDirectory { get; init; } = Path.GetTempPath();

    /// <summary>Print one JSON object instead of the text report.</summary>
    public bool Json { get; init; }

    /// <summary>Print a progress line to stderr once per second.</summary>
    public bool Progress { get; init; } = true;

    /// <summary>watch, watch-idle: watchers over all streams.</summary>
    public int Watchers { get; init; } = 1000;

    /// <summary>watch, watch-idle, lease-keepalive: gRPC streams the watchers (or keep-alives) are spread over, round-robin over --conns channels.</summary>
    public int Streams { get; init; } = 1;

    /// <summary>lease-expire, lease-keepalive: leases granted (and revoked or expired at the end).</summary>
    public int Leases { get; init; } = 10_000;

    /// <summary>lease-expire, lease-keepalive: the TTL asked for, in seconds (servers raise it to their minimum).</summary>
    public long LeaseTtlSeconds { get; init; } = 10;

    /// <summary>lease-keepalive: keep-alive requests outstanding per stream at most.</summary>
    public int InFlight { get; init; } = 64;

    /// <summary>watch-idle: the process whose resident memory (/proc/PID/status VmRSS) is sampled: the member serving the watchers.</summary>
    public int? RssPid { get; init; }

    /// <summary>Checks that need more than one option; returns the problems (empty when the settings are usable).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BenchWorkloads.UsesStreams(Workload))
        {
            // These workloads put streams, not clients, on the channels.
            if (Connections > Streams) errors.Add($"--conns ({Connections}) cannot exceed --streams ({Streams})");
            if (Workload is BenchWorkloads.Watch or BenchWorkloads.WatchIdle && Streams > Watchers) errors.Add($"--streams ({Streams}) cannot exceed --watchers ({Watchers})");
            if (Workload == BenchWorkloads.LeaseKeepAlive && Streams > Leases) errors.Add($"--streams ({Streams}) cannot exceed --leases ({Leases})");
        }
        else if (Connections > Clients) errors.Add($"--conns ({Connections}) cannot exceed --clients ({Clients})");
        if (KeySizeBytes < KeyGenerator.DigitsFor(KeySpace))
        {
            errors.Add($"--key-size {KeySizeBytes} cannot hold {KeySpace} distinct keys (keys are zero-padded decimal: need {KeyGenerator.DigitsFor(KeySpace)} bytes)");
        }
        if (Workload == BenchWorkloads.Fsync && Clients != 1) errors.Add("--workload fsync runs one writer: use --clients 1");
        if (Total is null && Duration is null && !BenchWorkloads.IsWatchOrLease(Workload)) errors.Add("give --total or --duration");
        if (Workload == BenchWorkloads.Watch && RatePerSecond is null) errors.Add("--workload watch needs --rate (the steady put load, puts per second)");
        if (Workload == BenchWorkloads.WatchIdle && RssPid is null) errors.Add("--workload watch-idle needs --rss-pid (the member serving --endpoints; use --target all with one endpoint)");
        return errors;
    }

    /// <summary>Hard bound of any run, whatever --total says.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(10);
}

/// <summary>The workload names <c>raftkv bench --workload</c> accepts.</summary>
public static class BenchWorkloads
{
    /// <summary>Writes of --val-size bytes to keys of --key-size bytes.</summary>
    public const string Put = "put";

    /// <summary>Single-key reads, linearizable or serializable.</summary>
    public const string Range = "range";

    /// <summary>Compare-and-swap increments of counters cas/0..N-1.</summary>
    public const string Txn = "txn";

    /// <summary>Reads and writes, --read-ratio of them reads.</summary>
    public const string Mixed = "mixed";

    /// <summary>Maintenance.Status: a cheap RPC every etcd-compatible server answers locally.</summary>
    public const string Status = "status";

    /// <summary>raftkv's no-op peer Ping (endpoints are peer URLs): the loopback gRPC round-trip ceiling.</summary>
    public const string PeerPing = "peer-ping";

    /// <summary>4 KiB write + fdatasync in a loop on a local file: the disk's durable-write ceiling.</summary>
    public const string Fsync = "fsync";

    /// <summary>Events per second delivered to --watchers watchers of one prefix on --streams streams, under a put load at --rate.</summary>
    public const string Watch = "watch";

    /// <summary>Resident memory of the serving member (--rss-pid) before and after creating --watchers idle watchers.</summary>
    public const string WatchIdle = "watch-idle";

    /// <summary>--leases leases of --lease-ttl with one key each: time from their TTL's end until every key is gone.</summary>
    public const string LeaseExpire = "lease-expire";

    /// <summary>Keep-alives per second over --streams LeaseKeepAlive streams renewing --leases leases, --in-flight outstanding per stream.</summary>
    public const string LeaseKeepAlive = "lease-keepalive";

    /// <summary>All of them, in the order --help lists them.</summary>
    public static readonly string[] All = [Put, Range, Txn, Mixed, Status, PeerPing, Fsync, Watch, WatchIdle, LeaseExpire, LeaseKeepAlive];

    /// <summary>The watch and lease workloads (their own runner, <see cref="WatchLeaseRunner"/>).</summary>
    public static bool IsWatchOrLease(string workload) => workload is Watch or WatchIdle or LeaseExpire or LeaseKeepAlive;

    /// <summary>Workloads whose --conns channels carry --streams streams rather than --clients clients.</summary>
    public static bool UsesStreams(string workload) => workload is Watch or WatchIdle or LeaseKeepAlive;

    /// <summary>True for workloads that talk to the etcd v3 API (and so may target the leader and prefill).</summary>
    public static bool UsesEtcdApi(string workload) => workload is Put or Range or Txn or Mixed or Status || IsWatchOrLease(workload);
}
