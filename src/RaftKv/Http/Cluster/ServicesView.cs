using RaftKv.Raft;
using RaftKv.Server;

namespace RaftKv.Http.Cluster;

/// <summary>A member's watch streams (from its <see cref="Server.Watch.WatchHub"/>): served locally, so they differ per member.</summary>
/// <param name="Streams">Open watch streams.</param>
/// <param name="Watchers">Watchers, all streams together.</param>
/// <param name="EventsSent">Events sent to watchers since the member started.</param>
/// <param name="HistoryReads">Reads of the store's history by watchers behind the recent window.</param>
public sealed record WatchSummary(long Streams, long Watchers, long EventsSent, long HistoryReads);

/// <summary>
/// A member's leases: the count and the first <see cref="LeaseSummary.ShownMax"/> by id. The table is replicated (the same
/// on every member once applied); only the leader keeps deadlines, so only its rows carry a remaining TTL.
/// </summary>
/// <param name="Count">Leases granted in this member's store.</param>
/// <param name="OnLeader">Whether this member leads (so <see cref="LeaseRow.RemainingTtl"/> is set).</param>
/// <param name="Shown">The first leases by id, at most <see cref="ShownMax"/>.</param>
public sealed record LeaseSummary(long Count, bool OnLeader, IReadOnlyList<LeaseRow> Shown)
{
    /// <summary>Leases listed per member at most (a view is sent every 500 ms while someone watches).</summary>
    public const int ShownMax = 100;

    /// <summary>Attached keys counted per lease at most; more shows as <see cref="LeaseRow.KeysMore"/>.</summary>
    public const int KeysCountedMax = 256;
}

/// <summary>One lease in a <see cref="LeaseSummary"/>.</summary>
/// <param name="Id">Its id in hex, as etcdctl prints it.</param>
/// <param name="GrantedTtl">TTL (s) as granted.</param>
/// <param name="RemainingTtl">Whole seconds left on the leader's clock; null on a follower.</param>
/// <param name="Keys">Attached keys counted (at most <see cref="LeaseSummary.KeysCountedMax"/>).</param>
/// <param name="KeysMore">Whether more keys are attached than counted.</param>
public sealed record LeaseRow(string Id, long GrantedTtl, long? RemainingTtl, int Keys, bool KeysMore);

/// <summary>A member's Lock and Election calls in progress (its <see cref="Server.Concurrency.CallSlots"/>).</summary>
/// <param name="Waiters">Lock and Campaign calls in progress, waiting or not.</param>
/// <param name="WaitersMax">The most allowed at once.</param>
/// <param name="Observers">Election Observe streams open.</param>
/// <param name="ObserversMax">The most allowed at once.</param>
/// <param name="KeepAliveStreams">Lease keep-alive streams open.</param>
public sealed record ConcurrencySummary(long Waiters, int WaitersMax, long Observers, int ObserversMax, int KeepAliveStreams);

/// <summary>Reads the watch, lease and lock state of one member for its <see cref="MemberView"/>, bounded.</summary>
public static class ServicesView
{
    /// <summary>The member's watch counters.</summary>
    public static WatchSummary Watch(NodeContext node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var hub = node.Machine.Watches;
        return new WatchSummary(hub.Streams, hub.Watchers, hub.EventsSent, hub.HistoryReads);
    }

    /// <summary>The member's lease count and first leases; remaining TTLs when it leads.</summary>
    public static LeaseSummary Leases(NodeContext node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var store = node.Machine.Store;
        var onLeader = node.Status?.Role == RaftRole.Leader;
        var rows = store.Leases(LeaseSummary.ShownMax).Select(lease =>
        {
            // On a follower the clock has no deadlines and would answer the full TTL: show nothing rather than a guess.
            var remaining = onLeader ? node.LeaseClock.TimeToLive(lease.Id)?.RemainingSeconds : null;
            var keys = store.LeaseKeys(lease.Id, LeaseSummary.KeysCountedMax + 1).Count;
            return new LeaseRow(lease.Id.ToString("x", System.Globalization.CultureInfo.InvariantCulture), lease.GrantedTtlSeconds, remaining,
                Math.Min(keys, LeaseSummary.KeysCountedMax), keys > LeaseSummary.KeysCountedMax);
        }).ToArray();
        return new LeaseSummary(store.LeaseCount, onLeader, rows);
    }

    /// <summary>The member's Lock, Election and keep-alive calls in progress.</summary>
    public static ConcurrencySummary Concurrency(NodeContext node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var hub = node.Concurrency;
        return new ConcurrencySummary(hub.Waiters.InUse, hub.Waiters.Max, hub.ObserveStreams.InUse, hub.ObserveStreams.Max, node.Leases.KeepAliveStreams);
    }
}
