using Google.Protobuf;

namespace RaftKv.Kv.Mvcc;

/// <summary>
/// A request's [key, range_end) with etcd's conventions applied: an empty range_end names the key alone, "\0" means
/// no upper bound, and an end at or before the key selects nothing.
/// </summary>
internal readonly struct KeyRange
{
    private KeyRange(ByteString start, ByteString? end, bool single)
    {
        Start = start;
        End = end;
        IsSingleKey = single;
    }

    /// <summary>First key of the range (inclusive).</summary>
    public ByteString Start { get; }

    /// <summary>Exclusive end; null when unbounded or single.</summary>
    public ByteString? End { get; }

    /// <summary>Whether the range is exactly <see cref="Start"/>.</summary>
    public bool IsSingleKey { get; }

    public static KeyRange FromRequest(ByteString key, ByteString rangeEnd)
    {
        if (rangeEnd.Length == 0)
        {
            return new KeyRange(key, null, single: true);
        }

        if (rangeEnd.Length == 1 && rangeEnd.Span[0] == 0)
        {
            return new KeyRange(key, null, single: false);
        }

        return new KeyRange(key, rangeEnd, single: false);
    }

    /// <summary>Whether <paramref name="key"/> lies in the range.</summary>
    public bool Contains(ReadOnlySpan<byte> key)
    {
        var fromStart = key.SequenceCompareTo(Start.Span);
        if (IsSingleKey)
        {
            return fromStart == 0;
        }

        return fromStart >= 0 && (End is null || key.SequenceCompareTo(End.Span) < 0);
    }

    /// <summary>Whether a key at or after the range's start is past its end (iteration can stop).</summary>
    public bool IsPastEnd(ReadOnlySpan<byte> key)
    {
        if (IsSingleKey)
        {
            return key.SequenceCompareTo(Start.Span) > 0;
        }

        return End is not null && key.SequenceCompareTo(End.Span) >= 0;
    }
}
