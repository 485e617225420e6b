using Prometheus;
using RaftKv.Http.Observe;
using RaftKv.Raft;
using RaftKv.Server;

namespace RaftKv.Http.Metrics;

/// <summary>
/// The member's Prometheus metrics (<c>GET /metrics</c>, text format), in a registry of their own: Raft state
/// gauges read at scrape time, counters kept by <see cref="NodeObserver"/>, and histograms of request latency per
/// RPC or route and of peer round trips.
/// </summary>
public sealed class RaftKvMetrics
{
    private readonly Histogram _requests;
    private readonly Histogram _peerRtt;

    /// <summary>Creates the collectors; gauges and counters refresh from the node before every scrape.</summary>
    public RaftKvMetrics(NodeContext node, NodeObserver observer, Func<int> dashboardClients, Server.Limits.ConnectionGate? gate = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(observer);
        ArgumentNullException.ThrowIfNull(dashboardClients);
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        var term = factory.CreateGauge("raftkv_raft_term", "Current Raft term.");
        var commit = factory.CreateGauge("raftkv_raft_commit_index", "Raft commit index.");
        var applied = factory.CreateGauge("raftkv_raft_applied_index", "Raft applied index.");
        var last = factory.CreateGauge("raftkv_raft_last_index", "Index of the last entry in the Raft log.");
        var lag = factory.CreateGauge("raftkv_apply_lag_entries", "Committed entries not yet applied (commit - applied).");
        var role = factory.CreateGauge("raftkv_raft_role", "1 for the member's current Raft role, 0 for the others.", "role");
        var hasLeader = factory.CreateGauge("raftkv_has_leader", "1 when the member knows a leader.");
        var isLeader = factory.CreateGauge("raftkv_is_leader", "1 when the member is the leader.");
        var revision = factory.CreateGauge("raftkv_store_revision", "Revision of the key-value store.");
        var size = factory.CreateGauge("raftkv_store_size_bytes", "Logical size of the key-value store, what the quota is checked against (etcd's db size in use).");
        var files = factory.CreateGauge("raftkv_store_physical_size_bytes", "Size of the store on its medium: the disk store's files (etcd's db size).");
        var snapshotStall = factory.CreateGauge("raftkv_snapshot_loop_max_seconds", "The longest the Raft loop spent on one snapshot (capture and publish), wall time.");
        var snapshotCpu = factory.CreateGauge("raftkv_snapshot_loop_cpu_max_seconds", "The most CPU time the Raft loop thread used on one snapshot (capture and publish); -1 before the first, or where it cannot be read.");
        var clients = factory.CreateGauge("raftkv_dashboard_clients", "Open dashboard event streams.");
        var leases = factory.CreateGauge("raftkv_leases", "Leases granted and not yet revoked or expired, in this member's store.");
        var leaseDeadlines = factory.CreateGauge("raftkv_lease_deadlines", "Lease deadlines this member keeps (the leader keeps one per lease, followers none).");
        var keepAliveStreams = factory.CreateGauge("raftkv_lease_keepalive_streams", "Open LeaseKeepAlive streams on this member.");
        var watchStreams = factory.CreateGauge("raftkv_watch_streams", "Open Watch streams on this member.");
        var watchers = factory.CreateGauge("raftkv_watchers", "Watchers on this member, all streams together.");
        var connections = factory.CreateGauge("raftkv_client_connections", "Client and HTTP connections open on this member (admitted by its limits).");
        var stats = node.Host.Stats;
        // Counters copied from running totals before every scrape: name, help, the total now.
        (string Name, string Help, Func<double> Total)[] totals =
        [
            ("raftkv_proposals_committed_total", "Non-empty Raft entries committed and applied on this member.", () => observer.ProposalsCommitted),
            ("raftkv_proposals_failed_total", "Client writes through this member that failed (no leader, timeout, refused).", () => observer.FailedWrites),
            ("raftkv_leader_changes_seen_total", "Times this member saw a new leader.", () => observer.LeaderChanges),
            ("raftkv_wal_writes_total", "Raft log writes (one per Ready: one write call, at most one fsync).", () => stats.Persists),
            ("raftkv_wal_fsyncs_total", "Raft log writes that were synced to disk (entries, term or vote).", () => stats.Syncs),
            ("raftkv_wal_write_seconds_total", "Time spent writing and syncing the Raft log.", () => stats.PersistTime.TotalSeconds),
            ("raftkv_wal_entries_total", "Raft log entries written.", () => stats.EntriesPersisted),
            ("raftkv_wal_entry_bytes_total", "Payload bytes of the Raft log entries written.", () => stats.EntryBytesPersisted),
            ("raftkv_append_messages_sent_total", "AppendEntries messages sent that carried entries.", () => stats.AppendMessagesSent),
            ("raftkv_append_entries_sent_total", "Entries carried by the AppendEntries messages sent.", () => stats.AppendEntriesSent),
            ("raftkv_append_entry_bytes_sent_total", "Payload bytes of the entries carried by AppendEntries messages sent.", () => stats.AppendEntryBytesSent),
            ("raftkv_raft_messages_sent_total", "Raft messages of every type handed to the transport.", () => stats.MessagesSent),
            ("raftkv_entries_applied_total", "Committed Raft entries applied (no-ops included).", () => stats.EntriesApplied),
            ("raftkv_snapshots_total", "State-machine snapshots this member took and published.", () => stats.SnapshotsPublished),
            ("raftkv_snapshot_loop_seconds_total", "Time the Raft loop spent capturing and publishing snapshots (the write happens off the loop).",
                () => stats.SnapshotLoopTime.TotalSeconds),
            ("raftkv_dotnet_allocated_bytes_total", "Bytes allocated by the process on the managed heap (GC.GetTotalAllocatedBytes).", () => GC.GetTotalAllocatedBytes()),
            ("raftkv_leases_granted_total", "Lease grants applied on this member.", () => node.LeaseClock.Granted),
            ("raftkv_leases_revoked_total", "Lease revokes applied on this member (by clients and by expiry).", () => node.LeaseClock.Revoked),
            ("raftkv_leases_expired_total", "Leases this member, as leader, revoked because their TTL ran out.", () => node.LeaseClock.Expired),
            ("raftkv_watch_events_sent_total", "Events sent to watchers on this member.", () => node.Machine.Watches.EventsSent),
            ("raftkv_watch_history_reads_total", "Reads of the store's history by watchers behind the in-memory window (slow or starting in the past).",
                () => node.Machine.Watches.HistoryReads),
            ("raftkv_client_connections_refused_total", "Client and HTTP connections closed unserved: over --max-connections or --max-new-connections-per-second.",
                () => gate?.Refused ?? 0),
            ("raftkv_client_requests_refused_total", "Requests answered 'too many requests': over --max-requests-per-second-per-connection.",
                () => gate?.RequestsRefused ?? 0),
            ("raftkv_process_cpu_seconds_total", "CPU time used by the process, user and system.", () => Environment.CpuUsage.TotalTime.TotalSeconds),
        ];
        var counters = totals.Select(t => (Counter: factory.CreateCounter(t.Name, t.Help), t.Total)).ToArray();
        var gcs = factory.CreateCounter("raftkv_dotnet_gc_collections_total", "Garbage collections by generation.", "generation");
        _requests = factory.CreateHistogram("raftkv_request_duration_seconds", "Latency of unary requests by gRPC method or HTTP route.",
            new HistogramConfiguration { LabelNames = ["method"], Buckets = Histogram.ExponentialBuckets(0.0001, 2, 18) });
        _peerRtt = factory.CreateHistogram("raftkv_peer_round_trip_seconds", "Round trip of a ping to each peer over the peer connection.",
            new HistogramConfiguration { LabelNames = ["peer"], Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });

        Registry.AddBeforeCollectCallback(() =>
        {
            if (node.Status is { } s)
            {
                term.Set(s.Term);
                commit.Set(s.Commit);
                applied.Set(s.Applied);
                last.Set(s.LastIndex);
                lag.Set(s.Commit >= s.Applied ? s.Commit - s.Applied : 0);
                foreach (var r in Enum.GetValues<RaftRole>()) role.WithLabels(r.ToString().ToLowerInvariant()).Set(r == s.Role ? 1 : 0);
                hasLeader.Set(s.Leader != RaftNode.None ? 1 : 0);
                isLeader.Set(s.Role == RaftRole.Leader ? 1 : 0);
            }
            var store = node.Machine.Store;
            revision.Set(store.Revision);
            size.Set(store.SizeBytes);
            files.Set(store.PhysicalSizeBytes);
            snapshotStall.Set(stats.SnapshotLoopTimeMax.TotalSeconds);
            snapshotCpu.Set(stats.SnapshotLoopCpuTimeMax?.TotalSeconds ?? -1);
            clients.Set(dashboardClients());
            leases.Set(node.Machine.Store.LeaseCount);
            leaseDeadlines.Set(node.LeaseClock.TrackedCount);
            keepAliveStreams.Set(node.Leases.KeepAliveStreams);
            watchStreams.Set(node.Machine.Watches.Streams);
            watchers.Set(node.Machine.Watches.Watchers);
            connections.Set(gate?.Open ?? 0);
            foreach (var (counter, total) in counters) counter.IncTo(total());
            for (var g = 0; g <= GC.MaxGeneration; g++) gcs.WithLabels(g.ToString(System.Globalization.CultureInfo.InvariantCulture)).IncTo(GC.CollectionCount(g));
        });
    }

    /// <summary>The registry <c>/metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Records one request's latency; <paramref name="method"/> comes from a bounded set (RPC names, route patterns).</summary>
    public void ObserveRequest(string method, TimeSpan duration) => _requests.WithLabels(method).Observe(duration.TotalSeconds);

    /// <summary>Records a ping's round trip to <paramref name="peer"/>.</summary>
    public void ObservePeerRtt(string peer, TimeSpan duration) => _peerRtt.WithLabels(peer).Observe(duration.TotalSeconds);
}
