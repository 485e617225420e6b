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
    /// <summary>
    /// Changes nothing in the configuration; the node must already be a member (voter or learner). It exists so the
    /// application can carry a member's metadata change (in <see cref="ConfChange.Context"/>) through the
    /// configuration-change path, ordered with the other changes (etcd's ConfChangeUpdateNode).
    /// </summary>
    UpdateNode = 5,
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
        ConfChangeType.UpdateNode => "update",
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
/// <param name="Context">
/// Opaque application data carried with the change, at most <see cref="MaxContextBytes"/> (etcd-io/raft's
/// ConfChangeV2.Context; a server puts the member's name and addresses there). The core never reads it.
/// </param>
public sealed record ConfChange(IReadOnlyList<ConfChangeSingle> Changes, ConfChangeTransition Transition = ConfChangeTransition.Auto,
    ReadOnlyMemory<byte> Context = default)
{
    /// <summary>Most node changes one configuration change may carry.</summary>
    public const int MaxChanges = 64;

    /// <summary>Most bytes of <see cref="Context"/> one configuration change may carry.</summary>
    public const int MaxContextBytes = 64 * 1024;

    // Format 1: no context and no UpdateNode (what every earlier version wrote and reads); format 2 adds the context.
    private const byte FormatWithoutContext = 1;
    private const byte FormatWithContext = 2;
    private const int HeaderBytes = 4;
    private const int ChangeBytes = 9;
    private const int ContextLengthBytes = 4;

    /// <summary>The change that leaves a joint configuration (thesis section 4.3, C_old,new to C_new).</summary>
    public static ConfChange LeaveJoint { get; } = new([]);

    /// <summary>True for the empty change that leaves a joint configuration.</summary>
    public bool IsLeaveJoint => Changes.Count == 0;

    /// <summary>Whether this change enters a joint configuration rather than taking one simple step.</summary>
    public bool EntersJoint => Changes.Count > 1 || (Changes.Count == 1 && Transition != ConfChangeTransition.Auto);

    /// <summary>A change of one node, with optional application data (<see cref="Context"/>).</summary>
    public static ConfChange Single(ConfChangeType type, ulong nodeId, ReadOnlyMemory<byte> context = default) =>
        new([new ConfChangeSingle(type, nodeId)], ConfChangeTransition.Auto, context);

    // Format 2 is written only when format 1 cannot say it, so a change without either stays readable by earlier versions.
    private bool NeedsContextFormat => !Context.IsEmpty || Changes.Any(c => c.Type == ConfChangeType.UpdateNode);

    /// <summary>
    /// The entry payload, little-endian. Format 1 (no context and no <see cref="ConfChangeType.UpdateNode"/>):
    /// version u8 = 1 | transition u8 | count u16 | count x (type u8, node id u64). Format 2 (otherwise): the same
    /// with version u8 = 2, followed by context length u32 | context bytes.
    /// </summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxChanges"/> changes or <see cref="MaxContextBytes"/> bytes of context.</exception>
    public byte[] Encode()
    {
        if (Changes.Count > MaxChanges) throw new ArgumentException($"{Changes.Count} changes, more than {MaxChanges}");
        if (Context.Length > MaxContextBytes) throw new ArgumentException($"a context of {Context.Length} bytes, more than {MaxContextBytes}");
        var withContext = NeedsContextFormat;
        var changesEnd = HeaderBytes + Changes.Count * ChangeBytes;
        var bytes = new byte[changesEnd + (withContext ? ContextLengthBytes + Context.Length : 0)];
        bytes[0] = withContext ? FormatWithContext : FormatWithoutContext;
        bytes[1] = (byte)Transition;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2), (ushort)Changes.Count);
        for (var i = 0; i < Changes.Count; i++)
        {
            var at = HeaderBytes + i * ChangeBytes;
            bytes[at] = (byte)Changes[i].Type;
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 1), Changes[i].NodeId);
        }
        if (withContext)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(changesEnd), (uint)Context.Length);
            Context.Span.CopyTo(bytes.AsSpan(changesEnd + ContextLengthBytes));
        }
        return bytes;
    }

    /// <summary>Reads what <see cref="Encode"/> wrote (either format); nothing else is accepted.</summary>
    /// <exception cref="FormatException">The bytes are not a configuration change; the message says what is wrong.</exception>
    public static ConfChange Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderBytes) throw new FormatException($"a configuration change needs at least {HeaderBytes} bytes, got {data.Length}");
        var format = data[0];
        if (format is not (FormatWithoutContext or FormatWithContext))
            throw new FormatException($"configuration change format {format}, expected {FormatWithoutContext} or {FormatWithContext}");
        var transition = (ConfChangeTransition)data[1];
        if (!Enum.IsDefined(transition)) throw new FormatException($"undefined transition {data[1]}");
        int count = BinaryPrimitives.ReadUInt16LittleEndian(data[2..]);
        if (count > MaxChanges) throw new FormatException($"{count} changes, more than {MaxChanges}");
        var changesEnd = HeaderBytes + count * ChangeBytes;
        if (format == FormatWithoutContext && data.Length != changesEnd)
            throw new FormatException($"{count} changes need {changesEnd} bytes in format {FormatWithoutContext}, got {data.Length}");
        if (format == FormatWithContext && data.Length < changesEnd + ContextLengthBytes)
            throw new FormatException($"{count} changes and a context length need at least {changesEnd + ContextLengthBytes} bytes in format {FormatWithContext}, got {data.Length}");
        var changes = new ConfChangeSingle[count];
        for (var i = 0; i < count; i++)
        {
            var at = HeaderBytes + i * ChangeBytes;
            var type = (ConfChangeType)data[at];
            if (!Enum.IsDefined(type)) throw new FormatException($"undefined change type {data[at]}");
            if (type == ConfChangeType.UpdateNode && format == FormatWithoutContext)
                throw new FormatException($"change type {type} in format {FormatWithoutContext}, which predates it");
            changes[i] = new ConfChangeSingle(type, BinaryPrimitives.ReadUInt64LittleEndian(data[(at + 1)..]));
        }
        if (format == FormatWithoutContext) return new ConfChange(changes, transition);
        var contextLength = BinaryPrimitives.ReadUInt32LittleEndian(data[changesEnd..]);
        if (contextLength > MaxContextBytes) throw new FormatException($"a context of {contextLength} bytes, more than {MaxContextBytes}");
        var contextStart = changesEnd + ContextLengthBytes;
        if ((ulong)data.Length != (ulong)contextStart + contextLength)
            throw new FormatException($"a context of {contextLength} bytes after {count} changes needs {contextStart + contextLength} bytes, got {data.Length}");
        var change = new ConfChange(changes, transition, data[contextStart..].ToArray());
        if (!change.NeedsContextFormat)
            throw new FormatException($"format {FormatWithContext} without a context or an update (format {FormatWithoutContext} is written for that)");
        return change;
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
        if (Context.Length > MaxContextBytes) return $"a context of {Context.Length} bytes, more than {MaxContextBytes}";
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
            case ConfChangeType.UpdateNode:
                // Nothing changes; the node must be one the configuration has (as it is before this change).
                if (!voters.Contains(id) && !learners.Contains(id)) return $"node {id} is not a member (voter or learner), there is nothing to update";
                return "";
            default:
                return $"undefined change type {(byte)change.Type}";
        }
    }

    /// <inheritdoc />
    public bool Equals(ConfChange? other) => other is not null && Transition == other.Transition && Changes.SequenceEqual(other.Changes)
        && Context.Span.SequenceEqual(other.Context.Span);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Transition, Changes.Count, Context.Length);

    /// <inheritdoc />
    public override string ToString()
    {
        var context = Context.IsEmpty ? "" : $" (context {Context.Length} bytes)";
        if (IsLeaveJoint) return "leave joint configuration" + context;
        var text = string.Join(", ", Changes);
        return (EntersJoint ? $"{text} (joint{(Transition == ConfChangeTransition.JointExplicit ? ", left explicitly" : ", left automatically")})" : text) + context;
    }
}
