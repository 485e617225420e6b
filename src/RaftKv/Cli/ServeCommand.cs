using System.CommandLine;
using System.Runtime.InteropServices;
using RaftKv.Server;

namespace RaftKv.Cli;

/// <summary><c>raftkv serve</c>: run one member, with etcd's flag names.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var name = EnvOption.String("--name", "Human-readable name of this member", "default");
        var dataDir = EnvOption.String("--data-dir", "Path to the data directory (default: <name>.raftkv)", null);
        var listenClient = EnvOption.String("--listen-client-urls", "URLs to listen on for client (etcd v3 gRPC) traffic", "http://127.0.0.1:2379");
        var advertiseClient = EnvOption.String("--advertise-client-urls", "Client URLs to advertise to the cluster (default: the listen URLs)", null);
        var listenPeer = EnvOption.String("--listen-peer-urls", "URLs to listen on for peer (Raft) traffic", "http://127.0.0.1:2380");
        var advertisePeer = EnvOption.String("--initial-advertise-peer-urls", "This member's peer URL as the others reach it (default: the listen peer URL)", null);
        var listenHttp = EnvOption.String("--listen-http-urls", "URLs for the HTTP side: /health, /metrics, JSON API, dashboard (default: none)", "");
        var initialCluster = EnvOption.String("--initial-cluster", "Initial members, name=peerURL,... (default: this member alone)", null);
        var clusterState = EnvOption.String("--initial-cluster-state", "new (bootstrap) or existing (join)", "new");
        var clusterToken = EnvOption.String("--initial-cluster-token", "Token that makes cluster and member ids unique", "raftkv-cluster");
        var heartbeat = EnvOption.Int64("--heartbeat-interval", "Time (ms) of a heartbeat interval", 100, 10, 10_000);
        var election = EnvOption.Int64("--election-timeout", "Time (ms) for an election to time out", 1000, 50, 50_000);
        // The upper bounds are checked by ServerLimits.Validate with a message that says why.
        var maxRequest = EnvOption.Int64("--max-request-bytes", $"Largest client request accepted (at most {ServerLimits.MaxRequestBytes})", 1_572_864, 1024, long.MaxValue);
        var quota = EnvOption.Int64("--quota-backend-bytes",
            $"Storage quota; writes fail with NOSPACE beyond it; 0: {ServerLimits.DefaultQuotaBytes(StoreBackend.Disk)} on disk, " +
            $"{ServerLimits.DefaultQuotaBytes(StoreBackend.Memory)} in memory (at most {ServerLimits.MaxDiskQuotaBytes} / {ServerLimits.MaxMemoryQuotaBytes})",
            0, 0, long.MaxValue);
        var snapshotCount = EnvOption.Int64("--snapshot-count",
            $"Applied entries between snapshots (log compaction); 0: {ServerLimits.DefaultSnapshotCount(StoreBackend.Disk)} on disk, " +
            $"{ServerLimits.DefaultSnapshotCount(StoreBackend.Memory)} in memory", 0, 0, 10_000_000);
        var backend = EnvOption.String("--backend", "Where the key-value state lives: disk (RocksDB under <data-dir>/member/state) or memory", "disk");
        var backendCache = EnvOption.Int64("--backend-cache-bytes", "The disk store's block cache, in bytes",
            Kv.Backend.KvBackendOptions.Default.BlockCacheSizeBytes, Kv.Backend.KvBackendOptions.SizeBytesMin, Kv.Backend.KvBackendOptions.BlockCacheSizeBytesMax);
        var progressInterval = EnvOption.String("--experimental-watch-progress-notify-interval",
            "How often a quiet watcher created with progress_notify hears the current revision (as etcd: 500ms, 10s, 10m)", "10m");
        var tickAdvance = BoolOption("--initial-election-tick-advance",
            "Once this member listens and enough peers answer to elect, fast-forward its election timer to one tick short of the timeout (as etcd); a one-member cluster always does", true);
        var leaseCheckpoint = BoolOption("--experimental-enable-lease-checkpoint",
            "Let the leader checkpoint remaining lease TTLs through the log, so leader changes do not restart leases at their full TTL (on by default, unlike etcd)", true);
        var leaseCheckpointInterval = EnvOption.String("--experimental-lease-checkpoint-interval",
            "How often the leader checkpoints each lease's remaining TTL (as etcd: 5m, 1s)", "5m");
        var leaseCheckpointPersist = BoolOption("--experimental-enable-lease-checkpoint-persist",
            "Accepted for etcd 3.6's flag; the remaining TTL is always kept in the store and its snapshots", true);
        var maxWatchStreams = EnvOption.Int64("--max-watch-streams", "Watch streams one member serves at once; beyond, a new stream is refused (RESOURCE_EXHAUSTED)",
            Server.Watch.WatchLimits.Default.StreamsMax, 1, 1_000_000);
        var maxWatchers = EnvOption.Int64("--max-watchers-per-stream", "Watchers on one Watch stream; beyond, a create is answered cancelled with the reason",
            Server.Watch.WatchLimits.Default.WatchersPerStreamMax, 1, 10_000_000);
        var maxLearners = EnvOption.Int64("--max-learners", "Learners the cluster may have at once (as etcd: 1); beyond, MemberAdd --learner is refused",
            1, 0, Server.Cluster.MembershipChanges.MaxMembers);
        var authToken = EnvOption.String("--auth-token",
            "Auth token type (as etcd 3.4): simple, or jwt,sign-method=RS256|PS256|ES256|HS256 (and 384/512),priv-key=PEM,pub-key=PEM,ttl=5m " +
            "(pub-key alone: verify only; HS: priv-key's bytes are the shared secret)", "simple");
        var authTokenTtl = EnvOption.Int64("--auth-token-ttl", "Seconds an unused simple token lives (as etcd: 300)", 300, 1, 86_400);
        var autoPromote = EnvOption.Flag("--auto-promote-learners", "The leader promotes a learner by itself once it is in sync with the log (raftkv's own)");
        var faults = EnvOption.Flag("--allow-fault-injection", "Allow the HTTP API to stop, pause and partition this member (testing only)");
        var logLevel = EnvOption.String("--log-level", "debug, info, warn or error", "info");
        var exitOnStdinEof = new Option<bool>("--exit-on-stdin-eof") { Description = "Stop when standard input closes (used by 'raftkv cluster')", Hidden = true };

        var tlsFlags = new TlsFlags();
        var limitFlags = new LimitFlags();
        var command = new Command("serve", "Run a raftkv member");
        tlsFlags.AddTo(command);
        limitFlags.AddTo(command);
        foreach (var o in new Option[] { name, dataDir, listenClient, advertiseClient, listenPeer, advertisePeer, listenHttp, initialCluster, clusterState,
                     clusterToken, heartbeat, election, maxRequest, quota, snapshotCount, backend, backendCache, progressInterval, leaseCheckpoint, leaseCheckpointInterval, leaseCheckpointPersist, maxWatchStreams, maxWatchers, maxLearners, authToken, authTokenTtl, autoPromote, tickAdvance, faults, logLevel, exitOnStdinEof })
        {
            command.Options.Add(o);
        }
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Checked first, so a misspelt point cannot leave a crash test running a member that never fails.
            if (FailPoints.Problem is { } failPoints)
            {
                await Console.Error.WriteLineAsync($"raftkv serve: {failPoints}").ConfigureAwait(false);
                return 2;
            }
            if (FailPoints.Describe() is { Length: > 0 } armed)
                await Console.Error.WriteLineAsync($"raftkv serve: failure points armed by {FailPoints.EnvironmentVariable}: {armed}").ConfigureAwait(false);
            ServerSettings settings;
            try
            {
                var memberName = parse.GetValue(name)!;
                var peerListen = ParseUrls(parse.GetValue(listenPeer)!, "--listen-peer-urls");
                var peerAdvertiseText = parse.GetValue(advertisePeer);
                var peerAdvertise = string.IsNullOrEmpty(peerAdvertiseText) ? peerListen[0] : ParseUrls(peerAdvertiseText, "--initial-advertise-peer-urls")[0];
                var clusterText = parse.GetValue(initialCluster);
                if (string.IsNullOrEmpty(clusterText)) clusterText = $"{memberName}={peerAdvertise}";
                var token = parse.GetValue(clusterToken)!;
                var clientListen = ParseUrls(parse.GetValue(listenClient)!, "--listen-client-urls");
                var clientAdvertiseText = parse.GetValue(advertiseClient);
                var stateText = parse.GetValue(clusterState)!;
                var backendText = parse.GetValue(backend)!;
                var storeBackend = backendText switch
                {
                    "disk" => StoreBackend.Disk,
                    "memory" => StoreBackend.Memory,
                    _ => throw new FormatException($"--backend must be 'disk' or 'memory', was '{backendText}'"),
                };
                var quotaBytes = parse.GetValue(quota);
                if (quotaBytes is > 0 and < 1024 * 1024) throw new FormatException($"--quota-backend-bytes must be 0 (the default) or at least 1 MiB, was {quotaBytes}");
                var snapshots = (ulong)parse.GetValue(snapshotCount);
                if (!Bench.DurationText.TryParse(parse.GetValue(progressInterval)!, out var progressEvery, out var progressError))
                    throw new FormatException($"--experimental-watch-progress-notify-interval: {progressError}");
                if (!Bench.DurationText.TryParse(parse.GetValue(leaseCheckpointInterval)!, out var checkpointEvery, out var checkpointError))
                    throw new FormatException($"--experimental-lease-checkpoint-interval: {checkpointError}");
                var tokenOptions = Server.Auth.AuthTokenOptions.Parse(parse.GetValue(authToken)!);
                if (snapshots is > 0 and < 10) throw new FormatException($"--snapshot-count must be 0 (the default) or at least 10, was {snapshots}");
                var listenHttpUrls = string.IsNullOrEmpty(parse.GetValue(listenHttp)) ? [] : ParseUrls(parse.GetValue(listenHttp)!, "--listen-http-urls");
                var clientAdvertise = string.IsNullOrEmpty(clientAdvertiseText) ? clientListen : ParseUrls(clientAdvertiseText, "--advertise-client-urls");
                var membership = Membership.Parse(clusterText, token);
                var (clientTls, peerTls) = tlsFlags.Parse(parse, [.. clientListen, .. listenHttpUrls, .. clientAdvertise],
                    [.. peerListen, peerAdvertise, .. membership.Members.Select(m => m.PeerUrl)]);
                settings = new ServerSettings
                {
                    Name = memberName,
                    DataDir = string.IsNullOrEmpty(parse.GetValue(dataDir)) ? memberName + ".raftkv" : parse.GetValue(dataDir)!,
                    ListenClientUrls = clientListen,
                    AdvertiseClientUrls = clientAdvertise,
                    ListenPeerUrls = peerListen,
                    AdvertisePeerUrl = peerAdvertise,
                    ListenHttpUrls = listenHttpUrls,
                    Membership = membership,
                    ClusterToken = token,
                    InitialClusterState = stateText switch
                    {
                        "new" => InitialClusterState.New,
                        "existing" => InitialClusterState.Existing,
                        _ => throw new FormatException($"--initial-cluster-state must be 'new' or 'existing', was '{stateText}'"),
                    },
                    HeartbeatIntervalMs = (int)parse.GetValue(heartbeat),
                    ElectionTimeoutMs = (int)parse.GetValue(election),
                    MaxRequestBytes = parse.GetValue(maxRequest),
                    QuotaBackendBytes = quotaBytes == 0 ? ServerLimits.DefaultQuotaBytes(storeBackend) : quotaBytes,
                    SnapshotCount = snapshots == 0 ? ServerLimits.DefaultSnapshotCount(storeBackend) : snapshots,
                    Backend = storeBackend,
                    BackendCacheBytes = parse.GetValue(backendCache),
                    WatchProgressNotifyInterval = progressEvery,
                    MaxWatchStreams = (int)parse.GetValue(maxWatchStreams),
                    MaxWatchersPerStream = (int)parse.GetValue(maxWatchers),
                    MaxLearners = (int)parse.GetValue(maxLearners),
                    AutoPromoteLearners = parse.GetValue(autoPromote),
                    InitialElectionTickAdvance = parse.GetValue(tickAdvance),
                    LeaseCheckpointInterval = parse.GetValue(leaseCheckpoint) ? checkpointEvery : null,
                    AllowFaultInjection = parse.GetValue(faults),
                    ClientTls = clientTls,
                    PeerTls = peerTls,
                    MaxConcurrentStreams = tlsFlags.MaxConcurrentStreams(parse),
                    Limits = limitFlags.Parse(parse),
                    AuthTokenTtl = TimeSpan.FromSeconds(parse.GetValue(authTokenTtl)),
                    AuthToken = tokenOptions,
                };
            }
            catch (FormatException e)
            {
                await Console.Error.WriteLineAsync($"raftkv serve: {e.Message}").ConfigureAwait(false);
                return 2;
            }
            if (ServerSettings.Validate(settings) is { } problem)
            {
                await Console.Error.WriteLineAsync($"raftkv serve: {problem}").ConfigureAwait(false);
                return 2;
            }
            var level = parse.GetValue(logLevel)!;
            if (!LogLevels.TryParse(level, out var minimumLevel))
            {
                await Console.Error.WriteLineAsync($"raftkv serve: --log-level must be debug, info, warn or error, was '{level}'").ConfigureAwait(false);
                return 2;
            }
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            if (parse.GetValue(exitOnStdinEof)) _ = WatchStdinAsync(stop);
            return await RaftKvServer.RunAsync(settings, minimumLevel, stop.Token).ConfigureAwait(false);
        });
        return command;
    }

    // A boolean that defaults to true and is turned off as etcd's are: --flag=false (or the RAFTKV_ variable).
    private static Option<bool> BoolOption(string flag, string description, bool defaultValue)
    {
        var variable = EnvOption.VariableFor(flag);
        return new Option<bool>(flag)
        {
            Description = $"{description} [env {variable}, default {(defaultValue ? "true" : "false")}]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) is { } text
                ? text == "1" || text.Equals("true", StringComparison.OrdinalIgnoreCase)
                : defaultValue,
        };
    }

    private static async Task WatchStdinAsync(CancellationTokenSource stop)
    {
        var buffer = new byte[256];
        using var stdin = Console.OpenStandardInput();
        while (await stdin.ReadAsync(buffer).ConfigureAwait(false) > 0)
        {
        }
        await stop.CancelAsync().ConfigureAwait(false);
    }

    private static Uri[] ParseUrls(string text, string flag) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => Membership.ParseUrl(u, flag)).ToArray() is { Length: > 0 } urls
            ? urls
            : throw new FormatException($"{flag} is empty");
}
