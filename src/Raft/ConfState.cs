namespace RaftKv.Raft;

/// <summary>The membership of the cluster: who votes. Learners and joint consensus come with membership changes.</summary>
public sealed record ConfState
{
    /// <summary>Creates a membership from voter ids (at least one, all non-zero, no duplicates).</summary>
    public ConfState(IEnumerable<ulong> voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        var sorted = voters.Distinct().Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("a configuration needs at least one voter", nameof(voters));
        if (sorted[0] == RaftNode.None) throw new ArgumentException("node id 0 is reserved for 'none'", nameof(voters));
        Voters = sorted;
    }

    /// <summary>Voting members, sorted ascending.</summary>
    public IReadOnlyList<ulong> Voters { get; }

    /// <summary>Whether <paramref name="id"/> votes.</summary>
    public bool IsVoter(ulong id) => Array.BinarySearch((ulong[])Voters, id) >= 0;

    /// <summary>Votes needed for a majority.</summary>
    public int Quorum => Voters.Count / 2 + 1;

    /// <inheritdoc />
    public bool Equals(ConfState? other) => other is not null && Voters.SequenceEqual(other.Voters);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var v in Voters) hash.Add(v);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => $"voters=({string.Join(",", Voters)})";
}
