using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Checking;

/// <summary>
/// The store-wide revision rules that a per-key check cannot see, as etcd's API guarantees state them: every
/// change gets a revision of its own (no two acknowledged writes share one), revisions never go back in real time
/// (an operation called after another returned answers at a revision at least as high, and a write strictly higher),
/// and a key's mod revision is never above the revision it was read at.
/// </summary>
public static class RevisionChecker
{
    /// <summary>The violations found, at most <paramref name="limit"/>; empty when the history keeps the rules.</summary>
    public static IReadOnlyList<string> Check(IReadOnlyList<KvOperation> operations, int limit = 20)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var problems = new List<string>();
        var completed = operations.Where(o => o.IsCompleted).ToArray();

        var byRevision = new Dictionary<long, KvOperation>();
        foreach (var op in completed)
        {
            if (!CreatesRevision(op)) continue;
            if (byRevision.TryGetValue(op.Output!.Value.Revision, out var other))
                Add(problems, limit, $"two acknowledged writes at revision {op.Output.Value.Revision}: {other} and {op}");
            else byRevision[op.Output.Value.Revision] = op;
        }

        foreach (var op in completed)
        {
            if (op.Input.Kind == KvOperationKind.Get && op.Output!.Value.ModRevision > op.Output.Value.Revision)
                Add(problems, limit, $"mod revision above the revision read at: {op}");
        }

        // Sweep by call time, with everything that returned before the call folded into the highest revision seen.
        var byReturn = completed.OrderBy(o => o.ReturnTime).ToArray();
        var returned = 0;
        KvOperation? highest = null;
        foreach (var op in completed.OrderBy(o => o.CallTime))
        {
            while (returned < byReturn.Length && byReturn[returned].ReturnTime < op.CallTime)
            {
                var done = byReturn[returned++];
                if (highest is null || done.Output!.Value.Revision > highest.Output!.Value.Revision) highest = done;
            }
            if (highest is null) continue;
            var floor = highest.Output!.Value.Revision;
            var revision = op.Output!.Value.Revision;
            if (revision < floor)
                Add(problems, limit, $"revision went back: {op} was called after {highest} returned");
            else if (revision == floor && CreatesRevision(op))
                Add(problems, limit, $"a write did not advance the revision: {op} was called after {highest} returned");
        }
        return problems;
    }

    /// <summary>Whether an acknowledged operation made a change, and so a revision of its own.</summary>
    public static bool CreatesRevision(KvOperation op) => op.Output is { } o && op.Input.Kind switch
    {
        KvOperationKind.Put => true,
        KvOperationKind.Delete or KvOperationKind.CompareAndPut => o.Succeeded,
        _ => false,
    };

    private static void Add(List<string> problems, int limit, string problem)
    {
        if (problems.Count < limit) problems.Add(problem);
    }
}
