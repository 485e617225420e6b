using RaftKv.Raft;

namespace RaftKv.Server;

/// <summary>A member's Raft state as JSON (<c>GET /v1/status</c>): ids in hex like etcd, names beside them.</summary>
/// <param name="Members">The configuration as this member has applied it: every member, voter or learner (the member table).</param>
/// <param name="Store">This member's key-value store as applied.</param>
public sealed record StatusReply(
    string Name, string Id, string ClusterId, ulong Term, string Vote, string Leader, string LeaderName, string Role,
    ulong Commit, ulong Applied, ulong FirstIndex, ulong LastIndex, ulong LastTerm, IReadOnlyList<FollowerReply> Followers,
    IReadOnlyList<ConfigMemberReply> Members, StoreReply Store)
{
    public static string Hex(ulong id) => id.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    public static StatusReply From(RaftStatus s, NodeContext node)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(node);
        var members = LiveMembers.Of(node);
        var learners = members.Where(m => m.IsLearner).Select(m => m.Id).ToHashSet();
        var onLeader = s.Role == RaftRole.Leader;
        return new StatusReply(
            node.NameOf(s.Id), Hex(s.Id), Hex(node.ClusterId), s.Term, s.Vote == RaftNode.None ? "" : Hex(s.Vote),
            s.Leader == RaftNode.None ? "" : Hex(s.Leader), s.Leader == RaftNode.None ? "" : node.NameOf(s.Leader),
            s.Role.ToString().ToLowerInvariant(), s.Commit, s.Applied, s.FirstIndex, s.LastIndex, s.LastTerm,
            s.Progress.Select(p => new FollowerReply(node.NameOf(p.Id), Hex(p.Id), p.Match, p.Next, p.State.ToString().ToLowerInvariant(),
                p.Inflight, s.LastIndex > p.Match ? s.LastIndex - p.Match : 0, p.RecentActive, p.IsLearner || learners.Contains(p.Id))).ToArray(),
            members.Select(m => new ConfigMemberReply(m.Name, Hex(m.Id), m.IsLearner ? "learner" : "voter", m.PeerUrls, m.ClientUrls, m.IsStarted,
                onLeader && m.IsLearner ? CatchUp(s, m.Id) : null)).ToArray(),
            StoreReply.Of(node.Machine.Store));
    }

    // The leader's view of a learner: how far its log is behind the leader's, and whether MemberPromote would accept it.
    private static CatchUpReply CatchUp(RaftStatus s, ulong id)
    {
        var progress = s.Progress.FirstOrDefault(p => p.Id == id);
        var match = progress.Id == id ? progress.Match : 0;
        return new CatchUpReply(match, s.LastIndex, s.LastIndex > match ? s.LastIndex - match : 0, Cluster.MembershipChanges.IsInSync(s, id));
    }
}

/// <summary>The leader's view of one follower.</summary>
/// <param name="IsLearner">The follower is a learner (replicated to, never counted).</param>
public sealed record FollowerReply(string Name, string Id, ulong Match, ulong Next, string State, int Inflight, ulong Lag, bool Active, bool IsLearner);

/// <summary>One member of the configuration in a <see cref="StatusReply"/>.</summary>
/// <param name="Name">Its name (its hex id until it has started and published one).</param>
/// <param name="Id">Its id (hex).</param>
/// <param name="Role">"voter" or "learner".</param>
/// <param name="PeerUrls">Its peer URLs.</param>
/// <param name="ClientUrls">Its client URLs (empty until it started).</param>
/// <param name="Started">Whether it has started and published its name.</param>
/// <param name="CatchUp">For a learner, on the leader only: its replication progress.</param>
public sealed record ConfigMemberReply(string Name, string Id, string Role, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls,
    bool Started, CatchUpReply? CatchUp);

/// <summary>A learner's catch-up as the leader sees it.</summary>
/// <param name="Match">Highest log index known to be on the learner.</param>
/// <param name="LeaderLastIndex">The leader's last log index.</param>
/// <param name="Behind">Entries the learner is behind.</param>
/// <param name="ReadyToPromote">Whether MemberPromote would accept it now (match at least 90% of the leader's last index).</param>
public sealed record CatchUpReply(ulong Match, ulong LeaderLastIndex, ulong Behind, bool ReadyToPromote);

/// <summary>A member's key-value store as applied.</summary>
/// <param name="Revision">The current revision.</param>
/// <param name="CompactRevision">The last compaction's revision (-1: never).</param>
/// <param name="CompactionPending">Whether a large compaction is still deleting versions, in steps the leader proposes.</param>
/// <param name="SizeBytes">The logical size the quota is checked against (etcd's db size in use).</param>
/// <param name="VersionCount">Stored versions, tombstones included.</param>
public sealed record StoreReply(long Revision, long CompactRevision, bool CompactionPending, long SizeBytes, long VersionCount)
{
    public static StoreReply Of(RaftKv.Kv.KvStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return new StoreReply(store.Revision, store.CompactRevision, store.CompactionPending, store.SizeBytes, store.VersionCount);
    }
}
