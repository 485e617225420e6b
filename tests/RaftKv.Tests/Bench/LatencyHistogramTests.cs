using System.Reflection;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Bench;

/// <summary>
/// The bench's histogram math: exact below 128 µs, within one bucket (1/64 relative) above, percentiles by rank.
/// The test project does not reference raftkv's assembly (it runs the binary), so the type is loaded from it.
/// </summary>
public sealed class LatencyHistogramTests
{
    private static readonly Type HistogramType = Assembly.LoadFrom(RaftKvBinary.DllPath).GetType("RaftKv.Cli.Bench.LatencyHistogram", throwOnError: true)!;

    private static dynamic NewHistogram() => Activator.CreateInstance(HistogramType)!;

    private static T Static<T>(string name, params object[] args) =>
        (T)HistogramType.GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)!.Invoke(null, args)!;

    [Fact]
    public void Empty_ReportsZeros()
    {
        var h = NewHistogram();
        Assert.Equal(0L, (long)h.Count);
        Assert.Equal(0L, (long)h.ValueAtQuantileUs(0.99));
        Assert.Equal(0L, (long)h.MaxUs);
    }

    [Fact]
    public void SmallValues_AreExact()
    {
        var h = NewHistogram();
        for (long v = 1; v <= 100; v++) h.Record(v);
        Assert.Equal(50L, (long)h.ValueAtQuantileUs(0.5));
        Assert.Equal(90L, (long)h.ValueAtQuantileUs(0.9));
        Assert.Equal(99L, (long)h.ValueAtQuantileUs(0.99));
        Assert.Equal(100L, (long)h.ValueAtQuantileUs(0.999));
        Assert.Equal(100L, (long)h.MaxUs);
        Assert.Equal(1L, (long)h.MinUs);
        Assert.Equal(50.5, (double)h.MeanUs, 6);
    }

    [Fact]
    public void LargeValues_WithinOneBucket_AndNeverAboveMax()
    {
        var h = NewHistogram();
        for (long v = 1; v <= 100_000; v++) h.Record(v); // 1 µs .. 100 ms, uniform
        foreach (var (q, exact) in new[] { (0.5, 50_000L), (0.9, 90_000L), (0.99, 99_000L), (0.999, 99_900L) })
        {
            long value = h.ValueAtQuantileUs(q);
            Assert.InRange(value, exact, (long)(exact * (1 + 1.0 / 64)) + 1);
        }
        Assert.Equal(100_000L, (long)h.ValueAtQuantileUs(1.0));
        Assert.Equal(100_000L, (long)h.MaxUs);
    }

    [Fact]
    public void SkewedDistribution_TailPercentilesSeeTheTail()
    {
        var h = NewHistogram();
        for (var i = 0; i < 990; i++) h.Record(500);     // 0.5 ms
        for (var i = 0; i < 10; i++) h.Record(200_000);  // 200 ms: the slowest 1 %
        Assert.InRange((long)h.ValueAtQuantileUs(0.5), 500, 508);
        Assert.InRange((long)h.ValueAtQuantileUs(0.99), 500, 508);
        Assert.InRange((long)h.ValueAtQuantileUs(0.999), 200_000, 200_000);
        var buckets = (System.Collections.IEnumerable)h.NonEmptyBuckets();
        Assert.Equal(2, buckets.Cast<object>().Count());
    }

    [Fact]
    public void OutOfRange_IsClampedButMaxIsExact()
    {
        var h = NewHistogram();
        h.Record(-5);
        h.Record(3_600_000_000); // an hour
        Assert.Equal(2L, (long)h.Count);
        Assert.Equal(3_600_000_000L, (long)h.MaxUs);
        Assert.Equal(0L, (long)h.ValueAtQuantileUs(0.5));
    }

    [Fact]
    public void Buckets_TileTheRange_WithBoundedRelativeWidth()
    {
        var previousUpper = -1L;
        var last = Static<int>("IndexOf", 60_000_000L);
        for (var i = 0; i <= last; i++)
        {
            var lower = Static<long>("LowerBoundUs", i);
            var upper = Static<long>("UpperBoundUs", i);
            Assert.Equal(previousUpper + 1, lower);          // no gap, no overlap
            Assert.True(upper - lower + 1 <= Math.Max(1, lower / 64), $"bucket {i} [{lower}, {upper}] is too wide");
            Assert.Equal(i, Static<int>("IndexOf", lower));
            Assert.Equal(i, Static<int>("IndexOf", upper));
            previousUpper = upper;
        }
        Assert.True(previousUpper >= 60_000_000);
    }

    [Fact]
    public async Task ConcurrentRecording_LosesNothing()
    {
        var h = NewHistogram();
        object boxed = h;
        var record = HistogramType.GetMethod("Record")!;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 25_000; i++) record.Invoke(boxed, [(long)(i % 1000)]);
        })));
        Assert.Equal(100_000L, (long)h.Count);
    }
}
