namespace RaftKv.Kv.Engine;

/// <summary>
/// How far the disk engine has physically carried out the compactions committed so far. A compaction entry commits
/// its revision at once (reads below it are refused from then on, and reads at or above it cannot tell whether the
/// versions it makes unreachable are still stored); the deletions follow in bounded steps, each inside an applied
/// entry's atomic batch, so every member deletes the same versions at the same log index and a crash resumes from the
/// last step committed.
/// </summary>
/// <param name="DoneTo">Every compaction up to this revision is carried out (-1 or 0: none was ever needed).</param>
/// <param name="Target">The compaction revision being carried out; 0 when no walk is in progress.</param>
/// <param name="CursorMain">Main revision of the next change the walk visits.</param>
/// <param name="CursorSub">Sub revision of the next change the walk visits.</param>
/// <remarks>
/// Invariant: DoneTo &lt;= Target (when walking) &lt;= the compact revision; CursorMain lies in [max(0, DoneTo), Target].
/// </remarks>
internal readonly record struct CompactionWalk(long DoneTo, long Target, long CursorMain, int CursorSub)
{
    /// <summary>No walk in progress and nothing left to do below <paramref name="compactRevision"/>.</summary>
    public static CompactionWalk Finished(long compactRevision) => new(compactRevision, 0, 0, 0);

    /// <summary>Whether a walk is in progress.</summary>
    public bool Walking => Target != 0;

    /// <summary>Whether versions made unreachable by a compaction up to <paramref name="compactRevision"/> may still be stored.</summary>
    public bool PendingBelow(long compactRevision) => Walking || DoneTo < compactRevision;

    /// <summary>Checks the invariant against the record's compact revision; the reason when it fails.</summary>
    public string? Inconsistency(long compactRevision)
    {
        if (DoneTo < -1 || DoneTo > compactRevision) return $"carried out to {DoneTo}, past the compaction at {compactRevision}";
        if (!Walking) return CursorMain == 0 && CursorSub == 0 ? null : "has a cursor but no walk";
        if (Target <= Math.Max(0, DoneTo) || Target > compactRevision) return $"walks to {Target}, outside ({DoneTo}, {compactRevision}]";
        if (CursorMain < Math.Max(0, DoneTo) || CursorMain > Target || CursorSub < 0) return $"has its cursor at {CursorMain}.{CursorSub}, outside [{DoneTo}, {Target}]";
        return null;
    }
}
