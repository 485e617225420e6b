using Google.Protobuf;
using RaftKv.Kv.Alarms;
using RaftKv.Kv.Backend;
using RaftKv.Kv.Backend.Mvcc;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Engine;

/// <summary>
/// <see cref="IMvccView"/> over one backend view (a RocksDB snapshot): every read sees the state after one whole
/// applied entry, without a lock, while the applier goes on. Each key visited costs one seek; there is no in-memory
/// index, so opening a store reads nothing but the scalar record.
/// </summary>
internal sealed class DiskView : IMvccView, IDisposable
{
    private static readonly byte[] VersionSpaceStart = [MvccSpace.Versions];
    private static readonly byte[] VersionSpaceEnd = [MvccSpace.Versions + 1];

    private readonly BackendView view;
    private readonly DiskMeta meta;

    /// <summary>A view whose scalars are read from the backend (at open and after a switch); disposes the backend view when they are corrupt.</summary>
    /// <exception cref="BackendFormatException">When a record is not one this version wrote.</exception>
    public DiskView(BackendView view, string directory)
    {
        this.view = view;
        try
        {
            meta = DiskMeta.Read(view, directory, out var alarms);
            Alarms = alarms;
            ClusterRecord = DiskClusterRecord.Read(view, directory);
            AuthRecord = DiskClusterRecord.Read(view, directory, DiskClusterRecord.AuthKey);
        }
        catch
        {
            view.Dispose(); // nobody else holds it: left open, it would keep the backend from closing
            throw;
        }
    }

    /// <summary>A view whose scalars the engine published with the commit the view shows (no read of the hot record).</summary>
    public DiskView(BackendView view, DiskMeta meta, AlarmSet alarms, ReadOnlyMemory<byte> clusterRecord, ReadOnlyMemory<byte> authRecord)
    {
        AuthRecord = authRecord;
        this.view = view;
        this.meta = meta;
        Alarms = alarms;
        ClusterRecord = clusterRecord;
    }

    public long CurrentRevision => meta.CurrentRevision;

    public long CompactRevision => meta.CompactRevision;

    public bool CompactionPending => meta.CompactionPending;

    public ulong AppliedIndex => view.AppliedIndex;

    public long SizeBytes => meta.SizeBytes;

    public long EntryCount => meta.EntryCount;

    public AlarmSet Alarms { get; }

    public ReadOnlyMemory<byte> ClusterRecord { get; }

    public ReadOnlyMemory<byte> AuthRecord { get; }

    public Leases.ILeaseView Leases => field ??= new DiskLeaseView(view);

    internal DiskMeta Meta => meta;

    /// <summary>The backend view underneath, for the applier's compaction walk.</summary>
    internal BackendView Backend => view;

    public bool TryGetVersion(ReadOnlySpan<byte> key, long revision, out RevisionEntry entry)
    {
        if (revision >= meta.CurrentRevision)
        {
            return TryGetNewest(key, out entry);
        }

        using var it = view.Iterate(VersionKey.AtOrBelow(key, revision), VersionKey.KeyEnd(key));
        if (!it.Valid)
        {
            entry = default;
            return false;
        }

        var (_, main, sub) = VersionKey.Decode(it.Key);
        entry = ToEntry(VersionRecord.Decode(main, sub, it.Value));
        return true;
    }

    /// <summary>The newest version of <paramref name="key"/>, through its pointer: two point reads, no iterator.</summary>
    private bool TryGetNewest(ReadOnlySpan<byte> key, out RevisionEntry entry)
    {
        if (!view.TryGet(LatestKey.Encode(key), out var pointer))
        {
            entry = default;
            return false;
        }

        var (main, sub) = LatestKey.DecodeValue(pointer);
        if (!view.TryGet(VersionKey.Encode(key, main, sub), out var record))
        {
            throw new FormatException($"the newest-version pointer of a {key.Length}-byte key names ({main}, {sub}), which is not stored");
        }

        entry = ToEntry(VersionRecord.Decode(main, sub, record));
        return true;
    }

    public IEnumerable<KeyVersion> Live(KeyRange range, long revision)
    {
        if (range.IsSingleKey)
        {
            if (TryGetVersion(range.Start.Span, revision, out var single) && !single.IsTombstone)
            {
                yield return new KeyVersion(range.Start, single);
            }

            yield break;
        }

        if (range.End is { } end && end.Span.SequenceCompareTo(range.Start.Span) <= 0)
        {
            yield break;
        }

        var upper = range.End is null ? VersionSpaceEnd : VersionKey.KeyStart(range.End.Span);
        using var it = view.Iterate(VersionKey.KeyStart(range.Start.Span), upper);
        while (it.Valid)
        {
            var (key, main, sub) = VersionKey.Decode(it.Key);
            if (main > revision)
            {
                // Newer than asked: jump to the newest version at or below the revision, if the key has one.
                it.Seek(VersionKey.AtOrBelow(key, revision));
                if (!it.Valid)
                {
                    yield break;
                }

                var visible = VersionKey.Decode(it.Key);
                if (!visible.Key.AsSpan().SequenceEqual(key))
                {
                    continue; // no version by then; the iterator is on the next key already
                }

                (main, sub) = (visible.Main, visible.Sub);
            }

            var version = VersionRecord.Decode(main, sub, it.Value);
            if (!version.IsTombstone)
            {
                yield return new KeyVersion(UnsafeByteOperations.UnsafeWrap(key), ToEntry(version));
            }

            it.Seek(VersionKey.KeyEnd(key));
        }
    }

    public long CountLive(KeyRange range, long revision)
    {
        long count = 0;
        foreach (var _ in Live(range, revision))
        {
            count++;
        }

        return count;
    }

    public IEnumerable<Change> Changes(long fromRevision)
    {
        using var changes = view.Iterate(ChangeKey.Encode(Math.Max(0, fromRevision), 0), ChangeKey.SpaceEnd());
        using var versions = view.Iterate(VersionSpaceStart, VersionSpaceEnd);
        for (; changes.Valid; changes.Next())
        {
            var (main, sub) = ChangeKey.Decode(changes.Key);
            var key = changes.Value.ToArray();
            var exact = VersionKey.Encode(key, main, sub);
            versions.Seek(exact);
            if (!versions.Valid || !versions.Key.SequenceEqual(exact))
            {
                continue; // a tombstone at the compaction revision, dropped by that compaction
            }

            var entry = ToEntry(VersionRecord.Decode(main, sub, versions.Value));
            var compacted = main <= meta.CompactRevision; // only at the compaction revision: reads below it are refused
            if (compacted && entry.IsTombstone)
            {
                continue; // the same tombstone, which a compaction still being carried out will drop
            }

            RevisionEntry? previous = null;
            versions.Next();
            if (!compacted && versions.Valid)
            {
                var older = VersionKey.Decode(versions.Key);
                if (older.Key.AsSpan().SequenceEqual(key))
                {
                    previous = ToEntry(VersionRecord.Decode(older.Main, older.Sub, versions.Value));
                }
            }

            yield return new Change(UnsafeByteOperations.UnsafeWrap(key), entry, previous);
        }
    }

    public IEnumerable<KeyVersion> AllVersions(long maxRevision) => Versions(maxRevision, logical: true);

    /// <summary>
    /// Every stored version, those a compaction still being carried out will delete included (they count in
    /// <see cref="SizeBytes"/> until then); for invariant checks.
    /// </summary>
    internal IEnumerable<KeyVersion> StoredVersions() => Versions(long.MaxValue, logical: false);

    private IEnumerable<KeyVersion> Versions(long maxRevision, bool logical)
    {
        // Stored newest first per key; callers want oldest first, so each key's versions are gathered then reversed.
        var pending = new List<RevisionEntry>();
        byte[]? pendingKey = null;
        using var it = view.Iterate(VersionSpaceStart, VersionSpaceEnd);
        for (; it.Valid; it.Next())
        {
            var (key, main, sub) = VersionKey.Decode(it.Key);
            if (pendingKey is not null && !pendingKey.AsSpan().SequenceEqual(key))
            {
                foreach (var version in Flush(pendingKey, pending, logical))
                {
                    yield return version;
                }
            }

            pendingKey = key;
            if (main <= maxRevision)
            {
                pending.Add(ToEntry(VersionRecord.Decode(main, sub, it.Value)));
            }
        }

        if (pendingKey is not null)
        {
            foreach (var version in Flush(pendingKey, pending, logical))
            {
                yield return version;
            }
        }
    }

    /// <summary>How many newest-version pointers are stored; for invariant checks (O(keys)).</summary>
    internal long CountPointers()
    {
        long count = 0;
        using var it = view.Iterate([MvccSpace.Latest], [MvccSpace.Latest + 1]);
        for (; it.Valid; it.Next())
        {
            count++;
        }

        return count;
    }

    public void Dispose() => view.Dispose();

    internal static RevisionEntry ToEntry(in StoredVersion version) => version.IsTombstone
        ? RevisionEntry.Tombstone(version.Main, version.Sub)
        : new RevisionEntry(version.Main, version.Sub, version.CreateRevision, version.Version, version.Lease, UnsafeByteOperations.UnsafeWrap(version.Value));

    // The key's versions, newest first in pending, oldest first out; without those a compaction still being carried
    // out will delete (see LogicallyCompacted).
    private List<KeyVersion> Flush(byte[] key, List<RevisionEntry> pending, bool logical)
    {
        var wrapped = UnsafeByteOperations.UnsafeWrap(key);
        var result = new List<KeyVersion>(pending.Count);
        var oldest = pending.Count - 1;
        if (logical && meta.CompactionPending)
        {
            var newestCompacted = pending.FindIndex(v => v.Main <= meta.CompactRevision);
            if (newestCompacted >= 0)
            {
                oldest = pending[newestCompacted].IsTombstone ? newestCompacted - 1 : newestCompacted;
            }
        }

        for (var i = oldest; i >= 0; i--)
        {
            result.Add(new KeyVersion(wrapped, pending[i]));
        }

        pending.Clear();
        return result;
    }
}
