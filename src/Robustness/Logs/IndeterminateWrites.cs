using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Logs;

/// <summary>
/// Learns from the members' committed logs which writes with lost answers took effect, as etcd's robustness suite
/// does from its WALs. Puts and compare-and-puts are found by their value, which the traffic makes unique per
/// operation; deletes carry none and stay unresolved.
/// </summary>
/// <remarks>
/// <para>Applied: the write's entry is committed in some log (a compare-and-put's txn ran, its comparison may have
/// failed). It was applied before any completed write later in the log returned, so
/// <see cref="KvOperation.AppliedBy"/> is the earliest such return (<see cref="long.MaxValue"/> when there is none: it
/// may then go after everything, which the checker allows).</para>
/// <para>Never applied: the value is in no log at all (committed or not), and some log L has the highest commit index
/// of all and starts at or before the floor of the write: the index of a completed write that returned before the
/// write was called (its entry can only come later; 0 when there is none). A committed entry sits in a majority of
/// logs and leaves one only into a snapshot at or below that member's commit index; so had the write been committed
/// at index j, above the floor, either j is at most L's commit index and L holds it, or j is above every member's
/// commit index and the majority still holds it. This needs the logs of every member that ever took part (none of
/// whose data directories was deleted).</para>
/// <para>Sound only if a committed put always writes: no auth, no quota alarm (which makes the store refuse puts at
/// apply) during the run, and a put's lease alive when it applies: the traffic revokes a lease only after its put was
/// acknowledged, and grants it for an hour.</para>
/// </remarks>
public static class IndeterminateWrites
{
    /// <summary>
    /// Resolves the lost writes of <paramref name="history"/> against <paramref name="logs"/> (one per member,
    /// <see cref="CommittedLog.Parse"/>). With no logs every lost write stays unresolved.
    /// </summary>
    public static ResolvedHistory Resolve(IReadOnlyList<KvOperation> history, IReadOnlyList<CommittedLog> logs)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(logs);
        var placed = new Placement(history, logs);
        var operations = new List<KvOperation>(history.Count);
        var resolutions = new List<WriteResolution>();
        foreach (var op in history)
        {
            if (op.IsCompleted || !op.Input.IsWrite)
            {
                operations.Add(op);
                continue;
            }
            var resolution = Resolve(op, placed, logs);
            if (resolution.Fate == WriteFate.Applied)
                resolution = resolution with { Operation = op with { AppliedBy = placed.AppliedBy(Committed(op, logs)!.Index) } };
            resolutions.Add(resolution);
            if (resolution.Fate != WriteFate.NeverApplied) operations.Add(resolution.Operation);
        }
        return new ResolvedHistory(operations, resolutions, MissingAcknowledgedWrites(history, placed, logs));
    }

    private static WriteResolution Resolve(KvOperation op, Placement placed, IReadOnlyList<CommittedLog> logs)
    {
        if (op.Input.Kind is KvOperationKind.Delete or KvOperationKind.LeaseRevoke || op.Input.Value is null)
            return new WriteResolution(op, WriteFate.Unresolved, "a delete or a lease revoke carries no value to find in the log");
        if (Committed(op, logs) is { } entry)
            return new WriteResolution(op, WriteFate.Applied, $"committed at index {entry.Index}");
        if (logs.Any(l => l.MayHold(op.Input.Key, op.Input.Value)))
            return new WriteResolution(op, WriteFate.Unresolved, "in a log above its commit index only");
        if (placed.Covering(op) is { } log)
            return new WriteResolution(op, WriteFate.NeverApplied,
                $"in no log, though {log.Source}'s holds every committed entry from index {log.SnapshotIndex + 1} to {log.CommitIndex} and it could only be above {placed.Floor(op)}");
        return new WriteResolution(op, WriteFate.Unresolved, "in no log, but no log reaches back far enough to be sure");
    }

    // An acknowledged put (or successful compare-and-put) that a covering log lacks was lost after it was acknowledged.
    private static List<string> MissingAcknowledgedWrites(IReadOnlyList<KvOperation> history, Placement placed, IReadOnlyList<CommittedLog> logs)
    {
        var problems = new List<string>();
        foreach (var op in history)
        {
            if (op.Output is not { } output || op.Input.Value is null) continue;
            var wrote = op.Input.Kind == KvOperationKind.Put || (op.Input.Kind == KvOperationKind.CompareAndPut && output.Succeeded);
            if (!wrote || logs.Any(l => l.MayHold(op.Input.Key, op.Input.Value))) continue;
            if (placed.Covering(op) is { } log && problems.Count < 20)
                problems.Add($"acknowledged write missing from every log, though {log.Source}'s covers it: {op}");
        }
        return problems;
    }

    /// <summary>The committed entry holding the operation's value, in any log (committed entries agree across logs).</summary>
    internal static LoggedPut? Committed(KvOperation op, IReadOnlyList<CommittedLog> logs)
    {
        if (op.Input.Value is null) return null;
        foreach (var log in logs)
        {
            if (log.Find(op.Input.Key, op.Input.Value) is { Committed: true } put) return put;
        }
        return null;
    }
}
