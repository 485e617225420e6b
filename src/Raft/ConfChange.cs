using System.Buffers.Binary;

namespace RaftKv.Raft;

/// <summary>What one step of a configuration change does to one node.</summary>
public enum ConfChangeType : byte
{
    /// <summary>Adds a new voter. A server should add a learner first and promote it once caught up (thesis section 4.2.1).</summary>
    AddVoter = 1,
    /// <summary>Adds a learner: it receives the log but never votes or counts toward a quorum.</summary>
    AddLearner = 2,
    /// <summary>Removes a voter or a learner.</summary>
    Remove = 3,
    /// <summary>Turns a learner into a voter.</summary>
    PromoteLearner = 4,
}

/// <summary>How a configuration change is carried out.</summary>
public enum ConfChangeTransition : byte
{
    /// <summary>One change: a simple step (thesis section 4.1); several: joint consensus, left automatically.</summary>
    Auto = 0,
    /// <summary>Joint consensus (thesis section 4.3), left automatically: the leader proposes leaving once it has applied it.</summary>
    JointImplicit = 1,
    /// <summary>Joint consensus, left only when the application proposes an empty change (<see cref="ConfChange.LeaveJoint"/>).</summary>
    JointExplicit = 2,
}

/// <summary>One node's part in a configuration change.</summary>
/// <param name="Type">What happens to the node.</param>
/// <param name="NodeId">The node; non-zero.</param>
public readonly record struct ConfChangeSingle(ConfChangeType Type, ulong NodeId)
{
    /// <inheritdoc />
    public override string ToString() => $"{Type switch
    {
        ConfChangeType.AddVoter => "add voter",
        ConfChangeType.AddLearner => "add learner",
        ConfChangeType.PromoteLearner => "promote",
        _ => "remove",
    }} {NodeId}";
}

/// <summary>
/// A configuration change, carried in the log as an <see cref="EntryType.ConfChange"/> entry (in the encoding of
/// <see cref="Encode"/>), in the manner of etcd-io/raft's ConfChangeV2. No changes at all means "leave the joint
/// configuration". It takes effect on a node when the application applies the committed entry through
/// <see cref="RaftNode.ApplyConfChange"/>.
/// </summary>
/// <param name="Changes">The changes, at most <see cref="MaxChanges"/>; each node at most once.</param>
/// <param name="Transition">Simple step or joint consensus.</param>
public sealed record ConfChange(IReadOnlyList<ConfChangeSingle> Changes, ConfChangeTransition Transition = ConfChangeTransition.Auto)
{
    /// <summary>Most node changes one configuration change may carry.</summary>
    public const int MaxChanges = 64;

    private const byte FormatVersion = 1;
    private const int HeaderBytes = 4;
    private const int ChangeBytes = 9;

    /// <summary>The change that leaves a joint configuration (thesis section 4.3, C_old,new to C_new).</summary>
    public static ConfChange LeaveJoint { get; } = new([]);

    /// <summary>True for the empty change that leaves a joint configuration.</summary>
    public bool IsLeaveJoint => Changes.Count == 0;

    /// <summary>Whether this change enters a joint configuration rather than taking one simple step.</summary>
    public bool EntersJoint => Changes.Count > 1 || (Changes.Count == 1 && Transition != ConfChangeTransition.Auto);

    /// <summary>A change of one node.</summary>
    public static ConfChange Single(ConfChangeType type, ulong nodeId) => new([new ConfChangeSingle(type, nodeId)]);

    /// <summary>The entry payload: version u8 = 1 | transition u8 | count u16 | count x (type u8, node id u64), little-endian.</summary>
    public byte[] Encode()
    {
        if (Changes.Count > MaxChanges) throw new ArgumentException($"{Changes.Count} changes, more than {MaxChanges}");
        var bytes = new byte[HeaderBytes + Changes.Count * ChangeBytes];
        bytes[0] = FormatVersion;
        bytes[1] = (byte)Transition;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2), (ushort)Changes.Count);
        for (var i = 0; i < Changes.Count; i++)
        {
            var at = HeaderBytes + i * ChangeBytes;
            bytes[at] = (byte)Changes[i].Type;
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 1), Changes[i].NodeId);
        }
        return bytes;
    }

    /// <summary>Reads what <see cref="Encode"/> wrote.</summary>
    /// <exception cref="FormatException">The bytes are not a configuration change.</exception>
    public static ConfChange Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderBytes) throw new FormatException($"a configuration change needs at least {HeaderBytes} bytes, got {data.Length}");
        if (data[0] != FormatVersion) throw new FormatException($"configuration change format {data[0]}, expected {FormatVersion}");
        var transition = (ConfChangeTransition)data[1];
        if (!Enum.IsDefined(transition)) throw new FormatException($"undefined transition {data[1]}");
        int count = BinaryPrimitives.ReadUInt16LittleEndian(data[2..]);
        if (count > MaxChanges) throw new FormatException($"{count} changes, more than {MaxChanges}");
        if (data.Length != HeaderBytes + count * ChangeBytes)
            throw new FormatException($"{count} changes need {HeaderBytes + count * ChangeBytes} bytes, got {data.Length}");
        var changes = new ConfChangeSingle[count];
        for (var i = 0; i < count; i++)
        {
            var at = HeaderBytes + i * ChangeBytes;
            var type = (ConfChangeType)data[at];
            if (!Enum.IsDefined(type)) throw new FormatException($"undefined change type {data[at]}");
            changes[i] = new ConfChangeSingle(type, BinaryPrimitives.ReadUInt64LittleEndian(data[(at + 1)..]));
        }
        return new ConfChange(changes, transition);
    }

    /// <summary>
    /// The configuration that results from applying this change to <paramref name="current"/>, or false with the
    /// reason it cannot apply (nothing to leave, already joint, an unknown or duplicate node, no voters left...).
    /// </summary>
    public bool TryApply(ConfState current, out ConfState next, out string error)
    {
        ArgumentNullException.ThrowIfNull(current);
        next = current;
        error = Check(current);
        if (error.Length > 0) return false;
        if (IsLeaveJoint)
        {
            next = new ConfState(current.Voters, current.Learners, [], autoLeave: false);
            return true;
        }
        var voters = new SortedSet<ulong>(current.Voters);
        var learners = new SortedSet<ulong>(current.Learners);
        foreach (var change in Changes)
        {
            error = ApplyOne(change, voters, learners);
            if (error.Length > 0) return false;
        }
        if (voters.Count == 0)
        {
            error = "it would leave no voters";
            return false;
        }
        next = EntersJoint
            ? new ConfState(voters, learners, current.Voters, autoLeave: Transition != ConfChangeTransition.JointExplicit)
            : new ConfState(voters, learners, [], autoLeave: false);
        return true;
    }

    private string Check(ConfState current)
    {
        if (Changes.Count > MaxChanges) return $"{Changes.Count} changes, more than {MaxChanges}";
        if (IsLeaveJoint) return current.IsJoint ? "" : "the configuration is not joint, there is nothing to leave";
        if (current.IsJoint) return "the configuration is joint: leave it before changing it again";
        var seen = new HashSet<ulong>();
        foreach (var change in Changes)
        {
            if (change.NodeId == RaftNode.None) return "node id 0 is reserved for 'none'";
            if (!seen.Add(change.NodeId)) return $"node {change.NodeId} appears twice in one change";
        }
        return "";
    }

    private static string ApplyOne(ConfChangeSingle change, SortedSet<ulong> voters, SortedSet<ulong> learners)
    {
        var id = change.NodeId;
        switch (change.Type)
        {
            case ConfChangeType.AddVoter:
                if (voters.Contains(id)) return $"node {id} is already a voter";
                if (learners.Contains(id)) return $"node {id} is a learner: promote it instead";
                voters.Add(id);
                return "";
            case ConfChangeType.AddLearner:
                if (voters.Contains(id)) return $"node {id} is a voter (demoting a voter is not supported: remove it, then add it as a learner)";
                if (!learners.Add(id)) return $"node {id} is already a learner";
                return "";
            case ConfChangeType.PromoteLearner:
                if (!learners.Remove(id)) return $"node {id} is not a learner";
                voters.Add(id);
                return "";
            case ConfChangeType.Remove:
                if (!voters.Remove(id) && !learners.Remove(id)) return $"node {id} is not a member";
                return "";
            default:
                return $"undefined change type {(byte)change.Type}";
        }
    }

    /// <inheritdoc />
    public bool Equals(ConfChange? other) => other is not null && Transition == other.Transition && Changes.SequenceEqual(other.Changes);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Transition, Changes.Count);

    /// <inheritdoc />
    public override string ToString()
    {
        if (IsLeaveJoint) return "leave joint configuration";
        var text = string.Join(", ", Changes);
        return EntersJoint ? $"{text} (joint{(Transition == ConfChangeTransition.JointExplicit ? ", left explicitly" : ", left automatically")})" : text;
    }
}
