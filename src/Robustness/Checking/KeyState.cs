using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Checking;

/// <summary>
/// One key as etcd's model sees it: its value (null: absent), its mod revision (0 when absent), and the highest
/// store revision any operation on the key has answered at so far (<see cref="Floor"/>). The store's revisions
/// follow the linearization order, so a write linearized here must answer above the floor and a read at or above it.
/// A mod revision of <see cref="UnknownRevision"/> follows a write whose answer was lost: the key was written at a
/// revision nobody saw, above the floor of the moment it was written (<see cref="WrittenAbove"/>; later operations
/// may raise the floor to the write's own revision); the next read that sees the value pins it. <see cref="Lease"/>
/// is the lease the present value was put with (0: none), so a revoke of it deletes the key.
/// </summary>
public readonly record struct KeyState(string? Value, long ModRevision, long Floor, long WrittenAbove = 0, long Lease = 0)
{
    /// <summary>The mod revision of a write whose answer was lost.</summary>
    public const long UnknownRevision = -1;

    /// <summary>A key never written.</summary>
    public static KeyState Absent => new(null, 0, 0);

    /// <summary>
    /// The states an operation may leave behind when applied to this one, into <paramref name="next"/>; none when
    /// the operation's answer is impossible in this state (so it cannot be linearized here). More than one only when
    /// a compare-and-put's answer was lost and its comparison may have gone either way.
    /// </summary>
    public void Step(KvInput input, KvOutput? output, List<KeyState> next)
    {
        switch (input.Kind)
        {
            case KvOperationKind.Get:
                if (output is not { } read)
                {
                    next.Add(this); // a read whose answer was lost changed nothing
                    return;
                }
                if (read.Value != Value || read.Revision < Floor) return;
                if (Value is null)
                {
                    if (read.ModRevision != 0) return;
                }
                else if (ModRevision == UnknownRevision ? read.ModRevision <= WrittenAbove : read.ModRevision != ModRevision)
                {
                    return;
                }
                next.Add(this with { ModRevision = read.ModRevision, Floor = read.Revision, WrittenAbove = 0 });
                return;
            case KvOperationKind.Put:
                if (output is not { } put)
                {
                    next.Add(this with { Value = input.Value, ModRevision = UnknownRevision, WrittenAbove = Floor, Lease = input.LeaseId });
                    return;
                }
                if (put.Revision <= Floor) return;
                next.Add(new KeyState(input.Value, put.Revision, put.Revision, Lease: input.LeaseId));
                return;
            case KvOperationKind.Delete:
                if (output is not { } deleted)
                {
                    next.Add(Absent with { Floor = Floor });
                    return;
                }
                if (deleted.Succeeded != (Value is not null)) return;
                if (deleted.Succeeded ? deleted.Revision <= Floor : deleted.Revision < Floor) return;
                next.Add(Absent with { Floor = deleted.Revision });
                return;
            case KvOperationKind.CompareAndPut:
                // An unknown mod revision belongs to a present key at some revision above 0: any comparison but "absent" may hold.
                var mayHold = ModRevision == UnknownRevision ? input.ExpectedModRevision != 0 : ModRevision == input.ExpectedModRevision;
                var mayFail = ModRevision == UnknownRevision || ModRevision != input.ExpectedModRevision;
                if (output is { } cas)
                {
                    if (cas.Succeeded && mayHold && cas.Revision > Floor) next.Add(new KeyState(input.Value, cas.Revision, cas.Revision));
                    else if (!cas.Succeeded && mayFail && cas.Revision >= Floor) next.Add(this with { Floor = cas.Revision });
                    return;
                }
                if (mayHold) next.Add(this with { Value = input.Value, ModRevision = UnknownRevision, WrittenAbove = Floor, Lease = 0 });
                if (mayFail) next.Add(this);
                return;
            case KvOperationKind.LeaseRevoke:
                // It deletes the key (a change, so a revision of its own) exactly when the present value holds the lease.
                var attached = Value is not null && input.LeaseId != 0 && Lease == input.LeaseId;
                if (output is not { } revoke)
                {
                    next.Add(attached ? Absent with { Floor = Floor } : this);
                    return;
                }
                if (attached ? revoke.Revision > Floor : revoke.Revision >= Floor)
                    next.Add(attached ? Absent with { Floor = revoke.Revision } : this with { Floor = revoke.Revision });
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(input), input.Kind, "unknown operation kind");
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        (Value is null ? "<absent>" : $"{Value}@{(ModRevision == UnknownRevision ? "?" : ModRevision.ToString(System.Globalization.CultureInfo.InvariantCulture))}") +
        $" (floor {Floor})";
}
