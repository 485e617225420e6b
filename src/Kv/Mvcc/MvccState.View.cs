using Google.Protobuf;

namespace RaftKv.Kv.Mvcc;

/// <summary>The in-memory engine's side of <see cref="IMvccView"/> and <see cref="IMvccState"/>: reads walk the key index.</summary>
internal sealed partial class MvccState
{
    public bool TryGetVersion(ReadOnlySpan<byte> key, long revision, out RevisionEntry entry)
    {
        var history = Keys.Find(key);
        var index = history?.FindAtOrBefore(revision) ?? -1;
        entry = index >= 0 ? history![index] : default;
        return index >= 0;
    }

    public IEnumerable<KeyVersion> Live(KeyRange range, long revision)
    {
        if (range.IsSingleKey)
        {
            var history = Keys.Find(range.Start.Span);
            if (history is not null && history.TryGetVisible(revision, out var entry))
            {
                yield return new KeyVersion(history.Key, entry);
            }

            yield break;
        }

        var cursor = Keys.Seek(range.Start.Span);
        while (cursor.Next(out var history) && !range.IsPastEnd(history.Key.Span))
        {
            if (history.TryGetVisible(revision, out var entry))
            {
                yield return new KeyVersion(history.Key, entry);
            }
        }
    }

    public long CountLive(KeyRange range, long revision)
    {
        if (revision >= CurrentRevision)
        {
            return Keys.CountLive(range); // O(log n) from the index's live counts
        }

        long count = 0;
        foreach (var _ in Live(range, revision))
        {
            count++;
        }

        return count;
    }

    public IEnumerable<Change> Changes(long fromRevision)
    {
        for (var i = Log.FirstAtOrAfter(fromRevision); i < Log.Count; i++)
        {
            var change = Log[i];
            var history = change.History;
            var index = history.FindExact(change.Main, change.Sub);
            if (index < 0)
            {
                continue; // a tombstone at the compaction revision, dropped by that compaction
            }

            yield return new Change(history.Key, history[index], index > 0 ? history[index - 1] : null);
        }
    }

    public IEnumerable<KeyVersion> AllVersions(long maxRevision)
    {
        var cursor = Keys.First();
        while (cursor.Next(out var history))
        {
            for (var i = 0; i < history.Count && history[i].Main <= maxRevision; i++)
            {
                yield return new KeyVersion(history.Key, history[i]);
            }
        }
    }

    public void Append(ByteString key, in RevisionEntry entry) => Append(Keys.GetOrAdd(key), entry);

    /// <remarks>The heap has no batch limit, so nothing here throws <see cref="EntryTooLargeException"/> and there is never anything to discard.</remarks>
    public void DiscardWrites() => throw new InvalidOperationException("the in-memory state applies in place and never refuses an entry for its size");
}
