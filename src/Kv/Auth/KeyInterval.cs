using Google.Protobuf;

namespace RaftKv.Kv.Auth;

/// <summary>
/// [Start, End) over etcd's bytewise key order; End null is no upper bound. A single key k is [k, k + "\0"), so
/// single keys and ranges are compared the same way.
/// </summary>
internal readonly record struct KeyInterval(byte[] Start, byte[]? End)
{
    /// <summary>The interval a (key, range_end) pair names: an empty end is the key alone, "\0" is unbounded.</summary>
    public static KeyInterval Of(ByteString key, ByteString rangeEnd)
    {
        var start = key.ToByteArray();
        if (rangeEnd.Length == 0)
        {
            return new KeyInterval(start, [.. start, 0]);
        }

        if (rangeEnd.Length == 1 && rangeEnd[0] == 0)
        {
            return new KeyInterval(start, null);
        }

        var end = rangeEnd.ToByteArray();
        // An end at or before the start selects no key; it is checked as the start key alone, never as nothing.
        return end.AsSpan().SequenceCompareTo(start) <= 0 ? new KeyInterval(start, [.. start, 0]) : new KeyInterval(start, end);
    }

    /// <summary>Whether the union of <paramref name="granted"/> holds every key of <paramref name="wanted"/>.</summary>
    public static bool Covers(List<KeyInterval> granted, KeyInterval wanted)
    {
        granted.Sort((a, b) => a.Start.AsSpan().SequenceCompareTo(b.Start));
        // Walk the merged union in start order: the covered prefix grows from wanted.Start while intervals touch it.
        var reach = wanted.Start; // every key in [wanted.Start, reach) is covered
        var covering = false;
        foreach (var interval in granted)
        {
            if (interval.Start.AsSpan().SequenceCompareTo(reach) > 0)
            {
                break; // a gap before this interval: nothing later closes it
            }

            if (interval.End is null)
            {
                return true; // unbounded from a point at or before reach
            }

            if (interval.End.AsSpan().SequenceCompareTo(reach) > 0)
            {
                reach = interval.End;
                covering = true;
                if (wanted.End is not null && reach.AsSpan().SequenceCompareTo(wanted.End) >= 0)
                {
                    return true;
                }
            }
        }

        return covering && wanted.End is not null && reach.AsSpan().SequenceCompareTo(wanted.End) >= 0;
    }
}
