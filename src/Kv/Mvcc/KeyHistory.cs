using Google.Protobuf;
using RaftKv.Etcd.Api.Mvccpb;

namespace RaftKv.Kv.Mvcc;

/// <summary>
/// Every retained version of one key, oldest first. Compaction drops a prefix; writes append. The key stays in
/// the index while any version remains, tombstones included, so reads at past revisions find it.
/// </summary>
internal sealed class KeyHistory
{
    private const int InitialCapacity = 2;

    private RevisionEntry[] entries = new RevisionEntry[InitialCapacity];

    public KeyHistory(ByteString key)
    {
        if (key.Length == 0)
        {
            throw new ArgumentException("keys are never empty", nameof(key));
        }

        Key = key;
    }

    public ByteString Key { get; }

    public int Count { get; private set; }

    /// <summary>Compaction revision at which this key was last compacted; lets one compaction visit a key once.</summary>
    public long CompactedAt { get; set; } = long.MinValue;

    public ref readonly RevisionEntry this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"history has {Count} entries");
            }

            return ref entries[index];
        }
    }

    /// <summary>Whether the newest version is a live value (not a tombstone).</summary>
    public bool IsLive => Count > 0 && !entries[Count - 1].IsTombstone;

    public ref readonly RevisionEntry Last => ref this[Count - 1];

    /// <summary>Index of the newest entry with <see cref="RevisionEntry.Main"/> at or below <paramref name="revision"/>, or -1.</summary>
    public int FindAtOrBefore(long revision)
    {
        var count = Count;
        if (count == 0)
        {
            return -1;
        }

        // Most reads are at the newest revision.
        if (entries[count - 1].Main <= revision)
        {
            return count - 1;
        }

        int lo = 0, hi = count - 2, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (entries[mid].Main <= revision)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found;
    }

    /// <summary>Index of the entry written at exactly (main, sub), or -1.</summary>
    public int FindExact(long main, int sub)
    {
        var index = FindAtOrBefore(main);
        while (index >= 0 && entries[index].Main == main)
        {
            if (entries[index].Sub == sub)
            {
                return index;
            }

            index--;
        }

        return -1;
    }

    /// <summary>The live version visible at <paramref name="revision"/>, if any.</summary>
    public bool TryGetVisible(long revision, out RevisionEntry entry)
    {
        var index = FindAtOrBefore(revision);
        if (index < 0 || entries[index].IsTombstone)
        {
            entry = default;
            return false;
        }

        entry = entries[index];
        return true;
    }

    public void Append(in RevisionEntry entry)
    {
        if (Count > 0 && !entry.IsAfter(entries[Count - 1].Main, entries[Count - 1].Sub))
        {
            throw new InvalidOperationException(
                $"revision ({entry.Main},{entry.Sub}) does not follow ({entries[Count - 1].Main},{entries[Count - 1].Sub}) for one key");
        }

        if (Count == entries.Length)
        {
            Array.Resize(ref entries, entries.Length * 2);
        }

        entries[Count++] = entry;
    }

    /// <summary>Drops the oldest <paramref name="removeCount"/> entries.</summary>
    public void RemoveOldest(int removeCount)
    {
        if (removeCount < 0 || removeCount > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(removeCount), removeCount, $"history has {Count} entries");
        }

        if (removeCount == 0)
        {
            return;
        }

        var remaining = Count - removeCount;
        Array.Copy(entries, removeCount, entries, 0, remaining);
        Array.Clear(entries, remaining, removeCount);
        Count = remaining;

        // Give memory back after a compaction trimmed a long history.
        if (entries.Length > 4 * InitialCapacity && remaining * 4 < entries.Length)
        {
            Array.Resize(ref entries, Math.Max(InitialCapacity, remaining * 2));
        }
    }

    /// <summary>The etcd view of one entry; tombstones come out as etcd's delete events show them.</summary>
    public KeyValue ToKeyValue(in RevisionEntry entry, bool keysOnly = false) => new()
    {
        Key = Key,
        CreateRevision = entry.CreateRevision,
        ModRevision = entry.Main,
        Version = entry.Version,
        Lease = entry.Lease,
        Value = keysOnly || entry.Value is null ? ByteString.Empty : entry.Value,
    };
}
