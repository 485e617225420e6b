using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Logs;

/// <summary>What the committed logs say about one write whose answer was lost.</summary>
public enum WriteFate
{
    /// <summary>Its entry is committed: it was applied (by <see cref="KvOperation.AppliedBy"/>), so it must be linearized.</summary>
    Applied,
    /// <summary>It is in no log, and a log covers every place it could have been committed: it never took effect and is dropped.</summary>
    NeverApplied,
    /// <summary>The logs cannot tell (a delete, an entry only above the commit index, no log covering it): it stays optional.</summary>
    Unresolved,
}

/// <summary>The fate of one lost write, and why.</summary>
/// <param name="Operation">The write as it goes to the checker: with <see cref="KvOperation.AppliedBy"/> when applied.</param>
/// <param name="Fate">What the logs say.</param>
/// <param name="Reason">A sentence for reports.</param>
public sealed record WriteResolution(KvOperation Operation, WriteFate Fate, string Reason);

/// <summary>A history with its lost writes resolved against the committed logs, ready for the checker.</summary>
/// <param name="Operations">The history without the writes that never took effect, the applied ones carrying <see cref="KvOperation.AppliedBy"/>.</param>
/// <param name="Resolutions">One per write whose answer was lost, in history order.</param>
/// <param name="Problems">
/// Acknowledged writes that no log holds although a log covers where they must be: a lost acknowledged write (a
/// durability bug), reported beside the checker's verdict.
/// </param>
public sealed record ResolvedHistory(IReadOnlyList<KvOperation> Operations, IReadOnlyList<WriteResolution> Resolutions, IReadOnlyList<string> Problems)
{
    /// <summary>How many lost writes were found applied.</summary>
    public int Applied => Resolutions.Count(r => r.Fate == WriteFate.Applied);

    /// <summary>How many lost writes were dropped as never applied.</summary>
    public int NeverApplied => Resolutions.Count(r => r.Fate == WriteFate.NeverApplied);

    /// <summary>How many lost writes stay optional.</summary>
    public int Unresolved => Resolutions.Count(r => r.Fate == WriteFate.Unresolved);

    /// <summary>One line of counts, then the problems.</summary>
    public string Describe() => string.Join('\n',
        new[] { $"lost writes: {Resolutions.Count} ({Applied} applied, {NeverApplied} never applied, {Unresolved} unresolved)" }.Concat(Problems));
}
