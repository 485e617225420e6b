namespace RaftKv.Raft;

/// <summary>
/// The membership of the cluster: who votes, who only learns, and, during joint consensus (thesis section 4.3),
/// the outgoing voters whose majority is needed as well. Immutable; changed only through
/// <see cref="ConfChange"/> entries the application applies with <see cref="RaftNode.ApplyConfChange"/>.
/// </summary>
/// <remarks>
/// Invariants: the three sets are sorted and hold no 0; learners are neither incoming nor outgoing voters;
/// <see cref="AutoLeave"/> is only set while joint. A configuration with no voters at all is allowed only for a node
/// that waits to receive the cluster's configuration from a leader.
/// </remarks>
public sealed record ConfState
{
    private static readonly ulong[] NoIds = [];

    /// <summary>Creates a plain (non-joint) membership of <paramref name="voters"/> and no learners.</summary>
    public ConfState(IEnumerable<ulong> voters)
        : this(voters, [], [], autoLeave: false)
    {
    }

    /// <summary>Creates a membership; throws <see cref="ArgumentException"/> when it breaks an invariant above.</summary>
    /// <param name="voters">Voters (in a joint configuration: the incoming ones).</param>
    /// <param name="learners">Non-voting members that receive the log.</param>
    /// <param name="votersOutgoing">Outgoing voters of a joint configuration; empty when not joint.</param>
    /// <param name="autoLeave">Whether the leader leaves this joint configuration by itself once it is applied.</param>
    public ConfState(IEnumerable<ulong> voters, IEnumerable<ulong> learners, IEnumerable<ulong> votersOutgoing, bool autoLeave)
    {
        ArgumentNullException.ThrowIfNull(voters);
        ArgumentNullException.ThrowIfNull(learners);
        ArgumentNullException.ThrowIfNull(votersOutgoing);
        _voters = Sorted(voters, nameof(voters));
        _learners = Sorted(learners, nameof(learners));
        _outgoing = Sorted(votersOutgoing, nameof(votersOutgoing));
        if (_outgoing.Length > 0 && _voters.Length == 0)
            throw new ArgumentException("a joint configuration needs incoming voters", nameof(voters));
        foreach (var learner in _learners)
        {
            if (IsVoter(learner)) throw new ArgumentException($"node {learner} is both a learner and a voter", nameof(learners));
        }
        if (autoLeave && _outgoing.Length == 0) throw new ArgumentException("only a joint configuration can leave automatically", nameof(autoLeave));
        AutoLeave = autoLeave;
    }

    /// <summary>The configuration of a node that has not yet learned the cluster's (it never campaigns).</summary>
    public static ConfState Empty { get; } = new(NoIds);

    private readonly ulong[] _voters;
    private readonly ulong[] _learners;
    private readonly ulong[] _outgoing;

    /// <summary>Voters, sorted ascending; in a joint configuration the incoming ones (C_new).</summary>
    public IReadOnlyList<ulong> Voters => _voters;

    /// <summary>Outgoing voters of a joint configuration (C_old), sorted; empty when not joint.</summary>
    public IReadOnlyList<ulong> VotersOutgoing => _outgoing;

    /// <summary>Learners (non-voting members), sorted ascending.</summary>
    public IReadOnlyList<ulong> Learners => _learners;

    /// <summary>True during joint consensus: decisions need a majority of both voter sets.</summary>
    public bool IsJoint => _outgoing.Length > 0;

    /// <summary>Whether the leader proposes leaving this joint configuration as soon as it has applied it.</summary>
    public bool AutoLeave { get; }

    /// <summary>Whether <paramref name="id"/> votes (in either half of a joint configuration).</summary>
    public bool IsVoter(ulong id) => Array.BinarySearch(_voters, id) >= 0 || Array.BinarySearch(_outgoing, id) >= 0;

    /// <summary>Whether <paramref name="id"/> is an incoming voter (the only voters left once a joint configuration is left).</summary>
    public bool IsIncomingVoter(ulong id) => Array.BinarySearch(_voters, id) >= 0;

    /// <summary>Whether <paramref name="id"/> is a learner.</summary>
    public bool IsLearner(ulong id) => Array.BinarySearch(_learners, id) >= 0;

    /// <summary>Whether the configuration includes <paramref name="id"/> at all (voter or learner): the leader replicates to it.</summary>
    public bool Contains(ulong id) => IsVoter(id) || IsLearner(id);

    /// <summary>Every node the configuration includes, voters first (incoming, then outgoing only), then learners; no duplicates.</summary>
    public IEnumerable<ulong> AllIds()
    {
        foreach (var v in _voters) yield return v;
        foreach (var v in _outgoing)
        {
            if (Array.BinarySearch(_voters, v) < 0) yield return v;
        }
        foreach (var l in _learners) yield return l;
    }

    /// <summary>
    /// Whether the nodes <paramref name="agree"/> says yes to form a quorum: a majority of the voters and, when joint,
    /// also a majority of the outgoing voters (thesis section 4.3). Learners never count.
    /// </summary>
    public bool IsQuorum(Func<ulong, bool> agree)
    {
        ArgumentNullException.ThrowIfNull(agree);
        return IsMajority(_voters, agree) && (_outgoing.Length == 0 || IsMajority(_outgoing, agree));
    }

    private static bool IsMajority(ulong[] voters, Func<ulong, bool> agree)
    {
        var yes = 0;
        foreach (var v in voters)
        {
            if (agree(v)) yes++;
        }
        return yes >= voters.Length / 2 + 1;
    }

    private static ulong[] Sorted(IEnumerable<ulong> ids, string name)
    {
        var sorted = ids.Distinct().Order().ToArray();
        if (sorted.Length > 0 && sorted[0] == RaftNode.None) throw new ArgumentException("node id 0 is reserved for 'none'", name);
        return sorted;
    }

    /// <inheritdoc />
    public bool Equals(ConfState? other) => other is not null && _voters.AsSpan().SequenceEqual(other._voters)
        && _learners.AsSpan().SequenceEqual(other._learners) && _outgoing.AsSpan().SequenceEqual(other._outgoing)
        && AutoLeave == other.AutoLeave;

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var v in _voters) hash.Add(v);
        hash.Add(-1);
        foreach (var v in _learners) hash.Add(v);
        hash.Add(-2);
        foreach (var v in _outgoing) hash.Add(v);
        hash.Add(AutoLeave);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var text = IsJoint ? $"voters=({string.Join(",", _voters)})&&({string.Join(",", _outgoing)})" : $"voters=({string.Join(",", _voters)})";
        if (_learners.Length > 0) text += $" learners=({string.Join(",", _learners)})";
        if (AutoLeave) text += " autoleave";
        return text;
    }
}
