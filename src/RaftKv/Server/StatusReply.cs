using RaftKv.Raft;

namespace RaftKv.Server;

/// <summary>A member's Raft state as JSON (<c>GET /v1/status</c>): ids in hex like etcd, names beside them.</summary>
public sealed record StatusReply(
    string Name, string Id, string ClusterId, ulong Term, string Vote, string Leader, string LeaderName, string Role,
    ulong Commit, ulong Applied, ulong FirstIndex, ulong LastIndex, ulong LastTerm, IReadOnlyList<FollowerReply> Followers)
{
    public static string Hex(ulong id) => id.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    public static StatusReply From(RaftStatus s, NodeContext node)
    {
        var members = node.Settings.Membership;
        return new StatusReply(
            members.NameOf(s.Id), Hex(s.Id), Hex(members.ClusterId), s.Term, s.Vote == RaftNode.None ? "" : Hex(s.Vote),
            s.Leader == RaftNode.None ? "" : Hex(s.Leader), s.Leader == RaftNode.None ? "" : members.NameOf(s.Leader),
            s.Role.ToString().ToLowerInvariant(), s.Commit, s.Applied, s.FirstIndex, s.LastIndex, s.LastTerm,
            s.Progress.Select(p => new FollowerReply(members.NameOf(p.Id), Hex(p.Id), p.Match, p.Next, p.State.ToString().ToLowerInvariant(),
                p.Inflight, s.LastIndex > p.Match ? s.LastIndex - p.Match : 0, p.RecentActive)).ToArray());
    }
}

/// <summary>The leader's view of one follower.</summary>
public sealed record FollowerReply(string Name, string Id, ulong Match, ulong Next, string State, int Inflight, ulong Lag, bool Active);
