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

/// <summary>Majority arithmetic over one set of voters.</summary>
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

    public static VoteResult Count(int voters, int granted, int rejected)
    {
        var quorum = voters / 2 + 1;
        if (granted >= quorum) return VoteResult.Won;
        if (voters - rejected < quorum) return VoteResult.Lost;
        return VoteResult.Pending;
    }
}
