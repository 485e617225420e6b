namespace RaftKv.Raft.Tracking;

/// <summary>Result of counting votes.</summary>
public enum VoteResult : byte
{
    /// <summary>Neither a majority of grants nor of rejections yet.</summary>
    Pending = 0,
    /// <summary>A majority granted.</summary>
    Won = 1,
    /// <summary>A majority rejected: the election cannot be won.</summary>
    Lost = 2,
}

/// <summary>Gives the index (match index, acknowledged read round...) a voter has reached.</summary>
internal interface IIndexLookup
{
    ulong IndexOf(ulong id);
}

/// <summary>
/// Majority arithmetic over one set of voters, and over a joint configuration (thesis section 4.3): there a
/// decision needs a majority of the incoming voters and a majority of the outgoing ones. Learners never count.
/// </summary>
internal static class Quorum
{
    /// <summary>
    /// The largest index that a majority of <paramref name="matches"/> have reached (paper section 5.3): sort
    /// descending and take the value at position quorum - 1. Sorts in place.
    /// </summary>
    public static ulong CommittedIndex(Span<ulong> matches)
    {
        RaftInvariantException.Assert(matches.Length > 0, "no voters");
        matches.Sort();
        // Ascending: the quorum-th largest is at index n - quorum.
        var quorum = matches.Length / 2 + 1;
        return matches[matches.Length - quorum];
    }

    /// <summary>
    /// The largest index a quorum of <paramref name="conf"/> has reached: the smaller of the two halves' majority
    /// indexes when joint. An empty half places no limit (<see cref="ulong.MaxValue"/>), as in etcd-io/raft.
    /// </summary>
    public static ulong CommittedIndex<T>(ConfState conf, T lookup) where T : IIndexLookup
    {
        var incoming = MajorityIndex(conf.Voters, lookup);
        return conf.IsJoint ? Math.Min(incoming, MajorityIndex(conf.VotersOutgoing, lookup)) : incoming;
    }

    private static ulong MajorityIndex<T>(IReadOnlyList<ulong> voters, T lookup) where T : IIndexLookup
    {
        if (voters.Count == 0) return ulong.MaxValue;
        Span<ulong> matches = voters.Count <= 64 ? stackalloc ulong[voters.Count] : new ulong[voters.Count];
        for (var i = 0; i < matches.Length; i++) matches[i] = lookup.IndexOf(voters[i]);
        return CommittedIndex(matches);
    }

    public static VoteResult Count(int voters, int granted, int rejected)
    {
        var quorum = voters / 2 + 1;
        if (granted >= quorum) return VoteResult.Won;
        if (voters - rejected < quorum) return VoteResult.Lost;
        return VoteResult.Pending;
    }

    /// <summary>
    /// Counts <paramref name="votes"/> (granted or not, by voter) in <paramref name="conf"/>: won when both halves are
    /// won, lost when either is lost (thesis section 4.3). Votes of non-voters are ignored.
    /// </summary>
    public static VoteResult Count(ConfState conf, IReadOnlyDictionary<ulong, bool> votes)
    {
        var incoming = CountHalf(conf.Voters, votes);
        if (!conf.IsJoint) return incoming;
        var outgoing = CountHalf(conf.VotersOutgoing, votes);
        if (incoming == VoteResult.Won && outgoing == VoteResult.Won) return VoteResult.Won;
        if (incoming == VoteResult.Lost || outgoing == VoteResult.Lost) return VoteResult.Lost;
        return VoteResult.Pending;
    }

    private static VoteResult CountHalf(IReadOnlyList<ulong> voters, IReadOnlyDictionary<ulong, bool> votes)
    {
        if (voters.Count == 0) return VoteResult.Won;
        int granted = 0, rejected = 0;
        foreach (var v in voters)
        {
            if (!votes.TryGetValue(v, out var yes)) continue;
            if (yes) granted++;
            else rejected++;
        }
        return Count(voters.Count, granted, rejected);
    }
}
