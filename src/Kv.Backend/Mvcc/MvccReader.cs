namespace RaftKv.Kv.Backend.Mvcc;

/// <summary>
/// Reads MVCC records through one <see cref="BackendView"/> (a consistent point in time): the version of a key visible
/// at a revision, the live keys of a range at a revision, and the history in revision order. No in-memory index:
/// each key visited costs one seek.
/// </summary>
/// <remarks>Not thread-safe; make one per reading thread over a shared view.</remarks>
public sealed class MvccReader(BackendView view)
{
    private static readonly byte[] VersionSpaceEnd = [MvccSpace.Versions + 1];

    /// <summary>
    /// The newest version of <paramref name="key"/> with a main revision at most <paramref name="revision"/> (a
    /// tombstone when the key was deleted then); false when the key had no version by then.
    /// </summary>
    public bool TryGetVisible(ReadOnlySpan<byte> key, long revision, out StoredVersion version)
    {
        using var it = view.Iterate(VersionKey.AtOrBelow(key, revision), VersionKey.KeyEnd(key));
        if (!it.Valid)
        {
            version = default;
            return false;
        }

        var (_, main, sub) = VersionKey.Decode(it.Key);
        version = VersionRecord.Decode(main, sub, it.Value);
        return true;
    }

    /// <summary>
    /// The keys in [<paramref name="start"/>, <paramref name="endExclusive"/>) that exist at <paramref name="revision"/>,
    /// in key order, with their visible versions; an empty <paramref name="endExclusive"/> means no upper bound.
    /// At most <paramref name="limit"/> keys (0 for all).
    /// </summary>
    public List<(byte[] Key, StoredVersion Version)> Range(ReadOnlySpan<byte> start, ReadOnlySpan<byte> endExclusive, long revision, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var result = new List<(byte[] Key, StoredVersion Version)>();
        var upper = endExclusive.IsEmpty ? VersionSpaceEnd : VersionKey.KeyStart(endExclusive);
        using var it = view.Iterate(VersionKey.KeyStart(start), upper);
        while (it.Valid && (limit == 0 || result.Count < limit))
        {
            var (key, main, sub) = VersionKey.Decode(it.Key);
            if (main > revision)
            {
                // Newer than asked: jump to the newest version at or below the revision, if the key has one.
                it.Seek(VersionKey.AtOrBelow(key, revision));
                if (!it.Valid)
                {
                    break;
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
                result.Add((key, version));
            }

            it.Seek(VersionKey.KeyEnd(key));
        }

        return result;
    }

    /// <summary>The changes from revision <paramref name="fromMain"/> on, in revision order, at most <paramref name="max"/>.</summary>
    public List<(long Main, int Sub, byte[] Key)> Changes(long fromMain, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        var result = new List<(long Main, int Sub, byte[] Key)>();
        using var it = view.Iterate(ChangeKey.Encode(Math.Max(0, fromMain), 0), ChangeKey.SpaceEnd());
        for (; it.Valid && result.Count < max; it.Next())
        {
            var (main, sub) = ChangeKey.Decode(it.Key);
            result.Add((main, sub, it.Value.ToArray()));
        }

        return result;
    }
}
