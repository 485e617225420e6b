using RaftKv.Kv.Backend.Mvcc;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Engine;

/// <summary>Compaction on disk: the same versions go as in <see cref="MvccState.Compact"/>, found through the change history.</summary>
internal sealed partial class DiskApplyState
{
    private static readonly byte[] VersionSpaceStart = [MvccSpace.Versions];
    private static readonly byte[] VersionSpaceEnd = [MvccSpace.Versions + 1];

    /// <summary>
    /// Walks the changes from the previous compaction to <paramref name="revision"/>. A change superseded at or
    /// below the revision loses its version; the newest change of a key at or below it keeps its version unless it is
    /// a tombstone, and takes with it the one version older than the previous compaction that that compaction kept
    /// (whose change is gone). Changes below the revision are dropped; those at it stay, so a watcher may start there.
    /// </summary>
    /// <remarks>
    /// All in this entry's batch: its size grows with the writes since the previous compaction, and past
    /// <see cref="OperationsMax"/> the compaction is refused (compact to an earlier revision first). etcd deletes in
    /// the background in chunks; so could this, with the compact revision committed first.
    /// </remarks>
    public void Compact(long revision)
    {
        if (revision <= meta.CompactRevision || revision > meta.CurrentRevision)
        {
            throw new ArgumentOutOfRangeException(
                nameof(revision), revision, $"compaction must lie in ({meta.CompactRevision}, {meta.CurrentRevision}]");
        }

        var previous = Math.Max(0, meta.CompactRevision);
        var view = committed.Backend;
        using var changes = view.Iterate(ChangeKey.Encode(previous, 0), ChangeKey.Encode(revision + 1, 0));
        using var versions = view.Iterate(VersionSpaceStart, VersionSpaceEnd);
        long sizeBytes = meta.SizeBytes, entryCount = meta.EntryCount;
        for (; changes.Valid; changes.Next())
        {
            var (main, sub) = ChangeKey.Decode(changes.Key);
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

        FailPoints.Hit(FailPoint.CompactionDuring);
        meta = meta with { CompactRevision = revision, SizeBytes = sizeBytes, EntryCount = entryCount };
    }

    private void Drop(byte[] key, in StoredVersion version, ref long sizeBytes, ref long entryCount)
    {
        Reserve(1);
        batch.Delete(VersionKey.Encode(key, version.Main, version.Sub));
        sizeBytes -= MvccState.EntryCost(key.Length, version.IsTombstone ? 0 : version.Value.Length);
        entryCount--;
    }
}
