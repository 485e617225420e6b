namespace RaftKv.Cli.Bench;

/// <summary>
/// An HDR-style latency histogram in microseconds: exact below 128 µs, then every power-of-two range split into 64
/// equal buckets (bucket width at most 1/64 of its values, so ~2 significant digits) up to 60 s. Recording is
/// lock-free (one <see cref="Interlocked"/> add per value), so every client shares one instance and the progress
/// line can read percentiles while the run goes on.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>Values at or above this are counted in the last bucket (the exact maximum is still kept).</summary>
    public const long MaxTrackableUs = 60_000_000;

    private const int LinearBits = 7;
    private const int LinearCount = 1 << LinearBits;          // 128 exact buckets: 0..127 µs
    private const int HalfCount = LinearCount / 2;            // 64 buckets per power of two above that

    private static readonly int BucketCount = IndexOf(MaxTrackableUs) + 1;

    private readonly long[] _counts = new long[BucketCount];
    private long _count;
    private long _sumUs;
    private long _maxUs;
    private long _minUs = long.MaxValue;

    /// <summary>Number of recorded values.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>Largest recorded value (exact, not bucketed); 0 when empty.</summary>
    public long MaxUs => Volatile.Read(ref _maxUs);

    /// <summary>Smallest recorded value (exact); 0 when empty.</summary>
    public long MinUs => Count == 0 ? 0 : Volatile.Read(ref _minUs);

    /// <summary>Arithmetic mean of the recorded values; 0 when empty.</summary>
    public double MeanUs => Count == 0 ? 0 : (double)Volatile.Read(ref _sumUs) / Count;

    /// <summary>Records one latency; negative values count as 0.</summary>
    public void Record(long valueUs)
    {
        if (valueUs < 0) valueUs = 0;
        Interlocked.Increment(ref _counts[IndexOf(Math.Min(valueUs, MaxTrackableUs))]);
        Interlocked.Add(ref _sumUs, valueUs);
        UpdateMax(valueUs);
        UpdateMin(valueUs);
        // Count last: a reader that sees the count sees (almost always) the bucket too; percentiles tolerate the rest.
        Interlocked.Increment(ref _count);
    }

    /// <summary>
    /// The value at quantile <paramref name="quantile"/> (0 &lt; q ≤ 1): the upper bound of the bucket holding the
    /// ⌈q·n⌉-th smallest value, never above the exact maximum. 0 when empty.
    /// </summary>
    public long ValueAtQuantileUs(double quantile)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(quantile);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quantile, 1.0);
        var snapshot = Snapshot(out var total);
        if (total == 0) return 0;
        var rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (var i = 0; i < snapshot.Length; i++)
        {
            seen += snapshot[i];
            if (seen >= rank) return Math.Min(UpperBoundUs(i), MaxUs);
        }
        return MaxUs;
    }

    /// <summary>The non-empty buckets in ascending order: inclusive bounds in µs and count.</summary>
    public IReadOnlyList<HistogramBucket> NonEmptyBuckets()
    {
        var snapshot = Snapshot(out _);
        var buckets = new List<HistogramBucket>();
        for (var i = 0; i < snapshot.Length; i++)
        {
            if (snapshot[i] != 0) buckets.Add(new HistogramBucket(LowerBoundUs(i), UpperBoundUs(i), snapshot[i]));
        }
        return buckets;
    }

    /// <summary>Bucket index of a value in [0, <see cref="MaxTrackableUs"/>].</summary>
    internal static int IndexOf(long valueUs)
    {
        if (valueUs < LinearCount) return (int)valueUs;
        var msb = 63 - (int)long.LeadingZeroCount(valueUs);      // valueUs in [2^msb, 2^(msb+1))
        var shift = msb - LinearBits + 1;                    // bucket width 2^shift
        var sub = (int)(valueUs >> shift) - HalfCount;       // 0..63
        return LinearCount + (msb - LinearBits) * HalfCount + sub;
    }

    /// <summary>Smallest value of bucket <paramref name="index"/>.</summary>
    internal static long LowerBoundUs(int index)
    {
        if (index < LinearCount) return index;
        var j = index - LinearCount;
        var msb = LinearBits + j / HalfCount;
        var shift = msb - LinearBits + 1;
        return (long)(j % HalfCount + HalfCount) << shift;
    }

    /// <summary>Largest value of bucket <paramref name="index"/>.</summary>
    internal static long UpperBoundUs(int index)
    {
        if (index < LinearCount) return index;
        var msb = LinearBits + (index - LinearCount) / HalfCount;
        return LowerBoundUs(index) + (1L << (msb - LinearBits + 1)) - 1;
    }

    private long[] Snapshot(out long total)
    {
        var copy = new long[_counts.Length];
        total = 0;
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Volatile.Read(ref _counts[i]);
            total += copy[i];
        }
        return copy;
    }

    private void UpdateMax(long valueUs)
    {
        var current = Volatile.Read(ref _maxUs);
        while (valueUs > current)
        {
            var seen = Interlocked.CompareExchange(ref _maxUs, valueUs, current);
            if (seen == current) return;
            current = seen;
        }
    }

    private void UpdateMin(long valueUs)
    {
        var current = Volatile.Read(ref _minUs);
        while (valueUs < current)
        {
            var seen = Interlocked.CompareExchange(ref _minUs, valueUs, current);
            if (seen == current) return;
            current = seen;
        }
    }
}

/// <summary>One histogram bucket: values in [<paramref name="LowerUs"/>, <paramref name="UpperUs"/>] µs.</summary>
public readonly record struct HistogramBucket(long LowerUs, long UpperUs, long Count);
