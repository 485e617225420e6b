using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Checking;

/// <summary>The verdicts on a whole history.</summary>
/// <param name="Linearizable">Ok when every key's history is linearizable; otherwise the worst verdict.</param>
/// <param name="Keys">Each key's result.</param>
/// <param name="RevisionProblems">Violations of the store-wide revision rules (<see cref="RevisionChecker"/>).</param>
public sealed record KvCheckReport(Verdict Linearizable, IReadOnlyList<KeyResult> Keys, IReadOnlyList<string> RevisionProblems)
{
    /// <summary>Checks the run made besides the history's (watch guarantees, for one), shown in its report.</summary>
    public IReadOnlyList<RunCheck> RunChecks { get; init; } = [];

    /// <summary>Whether the history passed every check.</summary>
    public bool Passed => Linearizable == Verdict.Ok && RevisionProblems.Count == 0 && RunChecks.All(c => c.Problems.Count == 0);

    /// <summary>A few lines for a test's failure message or a report.</summary>
    public string Describe()
    {
        var lines = new List<string>
        {
            $"linearizability: {Linearizable} ({Keys.Count} keys, {Keys.Sum(k => k.Operations)} operations, {Keys.Sum(k => k.Steps)} steps)",
            $"revisions: {(RevisionProblems.Count == 0 ? "Ok" : $"{RevisionProblems.Count} problems")}",
        };
        lines.AddRange(RunChecks.Select(c => $"{c.Check}: {(c.Problems.Count == 0 ? "Ok" : $"{c.Problems.Count} problems")} ({c.Detail})"));
        foreach (var key in Keys.Where(k => k.Verdict != Verdict.Ok)) lines.Add($"key {key.Key}: {key.Verdict}\n{key.Explanation}");
        lines.AddRange(RevisionProblems);
        lines.AddRange(RunChecks.SelectMany(c => c.Problems.Take(20)));
        return string.Join('\n', lines);
    }
}

/// <summary>A check a run made besides the history's checker, for its report.</summary>
/// <param name="Check">What was checked, for example "watch guarantees".</param>
/// <param name="Problems">What broke it; empty when it held.</param>
/// <param name="Detail">How much was checked.</param>
public sealed record RunCheck(string Check, IReadOnlyList<string> Problems, string Detail);

/// <summary>
/// Checks a KV history as the robustness suite records it: linearizability per key (sound because the model's
/// keys are independent once the store-wide revision is checked on its own), then the revision rules across keys.
/// </summary>
public static class KvHistoryChecker
{
    /// <summary>Checks <paramref name="operations"/>; the step budget applies to each key.</summary>
    public static KvCheckReport Check(IReadOnlyList<KvOperation> operations, long stepBudgetPerKey = LinearizabilityChecker.DefaultStepBudget)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ValidateClients(operations);
        // Serializable reads promise no recency: neither the per-key model nor the revision rules apply to them. A list
        // reads many keys: the revision rules apply, the per-key model does not (the run checks its content).
        operations = [.. operations.Where(o => o.Input.Kind != KvOperationKind.SerializableGet)];
        var keys = operations
            .Where(o => o.Input.Kind != KvOperationKind.List)
            // A read whose answer was lost tells nothing and constrains nothing.
            .Where(o => o.IsCompleted || o.Input.IsWrite)
            .GroupBy(o => o.Input.Key, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => LinearizabilityChecker.CheckKey(g.Key, g.ToArray(), stepBudgetPerKey))
            .ToArray();
        var verdict = keys.Any(k => k.Verdict == Verdict.Illegal) ? Verdict.Illegal
            : keys.Any(k => k.Verdict == Verdict.Unknown) ? Verdict.Unknown : Verdict.Ok;
        return new KvCheckReport(verdict, keys, RevisionChecker.Check(operations));
    }

    // A client runs one operation at a time (after an unknown outcome it goes on with the next): overlapping completed
    // operations of one client mean the recorder is broken.
    private static void ValidateClients(IReadOnlyList<KvOperation> operations)
    {
        foreach (var client in operations.GroupBy(o => o.ClientId))
        {
            KvOperation? previous = null;
            foreach (var op in client.OrderBy(o => o.CallTime))
            {
                if (previous is { IsCompleted: true } && previous.ReturnTime > op.CallTime)
                    throw new ArgumentException($"client {client.Key} has overlapping operations: {previous} and {op}", nameof(operations));
                previous = op;
            }
        }
    }
}
