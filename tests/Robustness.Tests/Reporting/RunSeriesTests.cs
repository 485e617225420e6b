using RaftKv.Robustness.Reporting;
using RaftKv.Robustness.Tests.Checking;

namespace RaftKv.Robustness.Tests.Reporting;

/// <summary>The series both the page and the PNG draw: the run's range, rates per second and latency per interval.</summary>
public sealed class RunSeriesTests
{
    [Fact]
    public void TheRun_EndsAtItsLastUnknownCall_AndEachIntervalCountsPerSecond()
    {
        // 1.2 s at 1000 ticks/s in 120 intervals: 10 ms each, so one operation in an interval is 100 per second.
        var h = new H().Put(1, 0, 5, "a", "1", revision: 2).PutUnknown(2, 1200, "a", "2");
        var run = RunSeries.Of(h.Operations, [], ticksPerSecond: 1000);
        Assert.Equal(0, run.Start);
        Assert.Equal(1200, run.End);
        Assert.Equal(100, run.OkPerSecond[0], precision: 9);
        Assert.Equal(5, run.P50Ms[0], precision: 9);
        Assert.Equal(5, run.P99Ms[0], precision: 9);
        Assert.Equal(100, run.UnknownPerSecond[RunSeries.Buckets - 1], precision: 9);
        Assert.Equal(200, run.OkPerSecond.Sum() + run.UnknownPerSecond.Sum(), precision: 9);
        Assert.Equal("2 operations (1 of unknown outcome) over 1.2 s; 0 faults.", run.Summary);
    }

    [Fact]
    public void AFault_StretchesTheRun_AndFractionsClampToIt()
    {
        var run = RunSeries.Of(new H().Put(1, 100, 200, "a", "1", revision: 2).Operations, [new FaultWindow("SIGSTOP", "A", 150, 300)], ticksPerSecond: 100);
        Assert.Equal(300, run.End);
        Assert.Equal(0.5, run.Fraction(200), precision: 9);
        Assert.Equal(0, run.Fraction(0), precision: 9);
        Assert.Equal(1, run.Fraction(10_000), precision: 9);
        Assert.Equal(1.5, run.SecondsFromStart(250), precision: 9);
    }
}
