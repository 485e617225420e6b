using RaftKv.Kv.Backend.Mvcc;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Engine;

/// <summary>Compaction on disk: the same versions go as in <see cref="MvccState.Compact"/>, found through the change history.</summary>
internal sealed partial class DiskApplyState
{
    private static readonly byte[] VersionSpaceStart = [MvccSpace.Versions];
    private static readonly byte[] VersionSpaceEnd = [MvccSpace.Versions + 1];

    /// <summary>
    /// Changes one step of a walk visits at most: the step's batch then holds at most about four operations per change
    /// (the change, its version, the pointer, one version older than the previous compaction), far below
    /// <see cref="OperationsMax"/>, and applying it takes milliseconds.
    /// </summary>
    public const int ChangesPerStep = 10_000;

    /// <summary>Whether a compaction still has versions to delete (<see cref="ContinueCompaction"/> carries it on).</summary>
    public bool CompactionPending => meta.CompactionPending;

    /// <summary>
    /// Commits the compaction at <paramref name="revision"/> (reads below it are refused from now on) and carries out
    /// its first step: a compaction of few changes is done within its own entry; a larger one goes on in the entries
    /// the leader proposes for it (<see cref="ContinueCompaction"/>).
    /// </summary>
    public void Compact(long revision)
    {
        if (revision <= meta.CompactRevision || revision > meta.CurrentRevision)
        {
            throw new ArgumentOutOfRangeException(
                nameof(revision), revision, $"compaction must lie in ({meta.CompactRevision}, {meta.CurrentRevision}]");
        }

        meta = meta with { CompactRevision = revision };
        ContinueCompaction();
    }

    /// <summary>
    /// Carries the committed compactions on by at most <see cref="ChangesPerStep"/> changes (fewer in tests), in this entry's batch, so
    /// every member deletes the same versions at the same index. Walks the changes from the previous compaction to the
    /// walk's target: a change superseded at or below the target loses its version; the newest change of a key at or
    /// below it keeps its version unless it is a tombstone, and takes with it the one version older than the previous
    /// compaction that that compaction kept (whose change is gone). Changes below the target are dropped; those at it
    /// stay, so a watcher may start there. A compaction committed while a walk runs starts its own walk in a later entry.
    /// </summary>
    public void ContinueCompaction()
    {
        if (!meta.CompactionPending)
        {
            return;
        }

        var walk = meta.Walk;
        if (!walk.Walking)
        {
            walk = walk with { Target = meta.CompactRevision, CursorMain = Math.Max(0, walk.DoneTo), CursorSub = 0 };
        }

        // One walk per entry at most: the next one reads the committed state, which must include this one's deletions
        // (a version this walk drops would otherwise be dropped, and counted, twice).
        var next = Step(walk);
        meta = meta with { Walk = next };
        FailPoints.Hit(FailPoint.CompactionDuring);
    }

    // One stretch of one walk; returns the walk as it leaves it (finished when the cursor passed the target).
    private CompactionWalk Step(CompactionWalk walk)
    {
        var previous = Math.Max(0, walk.DoneTo);
        var revision = walk.Target;
        var view = committed.Backend;
        using var changes = view.Iterate(ChangeKey.Encode(walk.CursorMain, walk.CursorSub), ChangeKey.Encode(revision + 1, 0));
        using var versions = view.Iterate(VersionSpaceStart, VersionSpaceEnd);
        long sizeBytes = meta.SizeBytes, entryCount = meta.EntryCount;
        var budget = changesPerStep;
        for (; changes.Valid; changes.Next())
        {
            var (main, sub) = ChangeKey.Decode(changes.Key);
            if (budget == 0)
            {
                meta = meta with { SizeBytes = sizeBytes, EntryCount = entryCount };
                return walk with { CursorMain = main, CursorSub = sub };
            }

            budget--;
            var key = changes.Value.ToArray();
            if (main < revision)
            {
                Reserve(1);
                batch.Delete(changes.Key);
            }

            var exact = VersionKey.Encode(key, main, sub);
            versions.Seek(exact);
            if (!versions.Valid || !versions.Key.SequenceEqual(exact))
            {
                continue; // a tombstone the previous compaction dropped at its own revision
            }

            var version = VersionRecord.Decode(main, sub, versions.Value);
            var newest = committed.TryGetVersion(key, revision, out var visible) && visible.Main == main && visible.Sub == sub;
            if (!newest || version.IsTombstone)
            {
                Drop(key, version, ref sizeBytes, ref entryCount);
            }

            if (newest && version.IsTombstone && committed.TryGetVersion(key, long.MaxValue, out var last) && last.Main == main && last.Sub == sub)
            {
                // The tombstone was the key's last version: with it the key is gone, and so is its pointer.
                Reserve(1);
                batch.Delete(LatestKey.Encode(key));
            }

            if (newest)
            {
                // Versions older than the previous compaction have no change left to visit: at most the one it kept.
                for (versions.Next(); versions.Valid; versions.Next())
                {
                    var (olderKey, olderMain, olderSub) = VersionKey.Decode(versions.Key);
                    if (!olderKey.AsSpan().SequenceEqual(key))
                    {
                        break;
                    }

                    if (olderMain < previous)
                    {
                        Drop(key, VersionRecord.Decode(olderMain, olderSub, versions.Value), ref sizeBytes, ref entryCount);
                    }
                }
            }
        }

        meta = meta with { SizeBytes = sizeBytes, EntryCount = entryCount };
        return CompactionWalk.Finished(revision);
    }

    private void Drop(byte[] key, in StoredVersion version, ref long sizeBytes, ref long entryCount)
    {
        Reserve(1);
        batch.Delete(VersionKey.Encode(key, version.Main, version.Sub));
        sizeBytes -= MvccState.EntryCost(key.Length, version.IsTombstone ? 0 : version.Value.Length);
        entryCount--;
    }
}
