using RaftKv.Robustness.Checking;
using RaftKv.Robustness.History;
using RaftKv.Robustness.Reporting;
using RaftKv.Robustness.Tests.Checking;

namespace RaftKv.Robustness.Tests.Reporting;

/// <summary>
/// The run's PNG (issue 16), read back with <see cref="PngImage"/>: a valid file of the fixed size, fault windows
/// shaded where they were, the throughput line up where traffic was, and the verdicts coloured by outcome.
/// </summary>
public sealed class HistoryPngTests
{
    private const long TicksPerSecond = 1000;

    [Fact]
    public void ThePng_IsValid_AndHasTheFixedSize()
    {
        var (ops, faults) = TrafficUntil(500, new FaultWindow("kill -9", "B", 700, 1000));
        var image = PngImage.Decode(Png(ops, faults));
        Assert.Equal(HistoryPng.Width, image.Width);
        Assert.Equal(HistoryPng.Height, image.Height);
        Assert.Equal(["IHDR", "IDAT", "IEND"], image.ChunkTypes);
    }

    [Theory]
    [InlineData(HistoryPng.ThroughputPlotTop)]
    [InlineData(HistoryPng.LatencyPlotTop)]
    public void APixelInsideAFaultWindow_HasTheShade_AndOneOutsideDoesNot(int plotTop)
    {
        var (ops, faults) = TrafficUntil(1000, new FaultWindow("kill -9", "B", 400, 600));
        var run = RunSeries.Of(ops, faults, TicksPerSecond);
        var image = PngImage.Decode(Png(ops, faults));
        // Mid-height: the traffic is steady, so the lines run near the plot's top (throughput, latency) or on its axis.
        var middle = plotTop + (HistoryPng.PlotHeight / 2);
        Assert.Equal(ReportPalette.FaultShade, image[HistoryPng.X(run, 500), middle]);
        Assert.Equal(ReportPalette.Background, image[HistoryPng.X(run, 200), middle]);
        Assert.Equal(ReportPalette.Background, image[HistoryPng.X(run, 800), middle]);
        // The band's label ("kill -9 B") is written in its top rows, starting just inside its left edge.
        var labelRows = Enumerable.Range(plotTop + 2, BitmapFont.GlyphHeight);
        var labelColumns = Enumerable.Range(HistoryPng.X(run, 400) + 2, 9 * BitmapFont.Advance);
        Assert.Contains(labelColumns, x => labelRows.Any(y => image[x, y] == ReportPalette.Text));
    }

    [Fact]
    public void TheThroughputAndLatencyLines_RiseWhereTrafficWas_AndLieOnTheAxisElsewhere()
    {
        // Traffic for the first half second; the fault at the end only stretches the run to 1 s.
        var (ops, faults) = TrafficUntil(500, new FaultWindow("SIGSTOP", "A", 900, 1000));
        var run = RunSeries.Of(ops, faults, TicksPerSecond);
        var image = PngImage.Decode(Png(ops, faults));
        var throughputAxis = HistoryPng.ThroughputPlotTop + HistoryPng.PlotHeight - 1;
        var latencyAxis = HistoryPng.LatencyPlotTop + HistoryPng.PlotHeight - 1;
        foreach (var busy in new long[] { 100, 250, 400 })
        {
            Assert.True(image.ColumnHas(HistoryPng.X(run, busy), HistoryPng.ThroughputPlotTop, throughputAxis - 10, ReportPalette.Answered), $"throughput at {busy} ms");
            Assert.True(image.ColumnHas(HistoryPng.X(run, busy), HistoryPng.LatencyPlotTop, latencyAxis - 10, ReportPalette.P99), $"latency at {busy} ms");
        }
        foreach (var idle in new long[] { 600, 700, 800 })
        {
            Assert.False(image.ColumnHas(HistoryPng.X(run, idle), HistoryPng.ThroughputPlotTop, throughputAxis - 3, ReportPalette.Answered), $"throughput at {idle} ms");
            Assert.True(image.ColumnHas(HistoryPng.X(run, idle), throughputAxis - 1, throughputAxis, ReportPalette.Unknown), $"the unknown-outcome line on the axis at {idle} ms");
        }
    }

    [Fact]
    public void UnknownOutcomes_RaiseTheirOwnLine()
    {
        var h = new H();
        for (var t = 0; t < 100; t++) h.PutUnknown(t, t * 10, "k", "v" + t);
        var run = RunSeries.Of(h.Operations, [], TicksPerSecond);
        var image = PngImage.Decode(HistoryReport.Png("unknown", h.Operations, [], KvHistoryChecker.Check(h.Operations), TicksPerSecond));
        var axis = HistoryPng.ThroughputPlotTop + HistoryPng.PlotHeight - 1;
        Assert.True(image.ColumnHas(HistoryPng.X(run, 500), HistoryPng.ThroughputPlotTop, axis - 10, ReportPalette.Unknown));
    }

    [Fact]
    public void AnEmptyHistory_StillGivesAValidPng_WithBothChecksPassed()
    {
        var image = PngImage.Decode(HistoryReport.Png("empty", [], [], KvHistoryChecker.Check([]), TicksPerSecond));
        Assert.Equal(HistoryPng.Width, image.Width);
        Assert.Equal(HistoryPng.Height, image.Height);
        var verdictBottom = HistoryPng.VerdictTop + BitmapFont.GlyphHeight - 1;
        Assert.True(image.CountInRows(HistoryPng.VerdictTop, verdictBottom, ReportPalette.Passed) > 0);
        Assert.Equal(0, image.CountInRows(HistoryPng.VerdictTop, verdictBottom, ReportPalette.Failed));
    }

    [Fact]
    public void AFailingRun_WritesFailedInTheFailureColour()
    {
        // A get that misses a put which returned before it: not linearizable (the page's failing example).
        var h = new H().Put(1, 0, 1, "a", "1", revision: 2).Get(2, 2, 3, "a", null, modRevision: 0, revision: 2);
        var image = PngImage.Decode(HistoryReport.Png("stale", h.Operations, [], KvHistoryChecker.Check(h.Operations), TicksPerSecond));
        var verdictBottom = HistoryPng.VerdictTop + BitmapFont.GlyphHeight - 1;
        Assert.True(image.CountInRows(HistoryPng.VerdictTop, verdictBottom, ReportPalette.Failed) > 0);
    }

    [Fact]
    public void AHugeTitleAndManyFaults_StayWithinTheFixedImage()
    {
        var faults = Enumerable.Range(0, 10_000).Select(i => new FaultWindow(new string('k', 500), "B", i, i + 1)).ToArray();
        var image = PngImage.Decode(HistoryReport.Png(new string('x', 100_000), [], faults, KvHistoryChecker.Check([]), TicksPerSecond));
        Assert.Equal(HistoryPng.Width, image.Width);
        Assert.Equal(HistoryPng.Height, image.Height);
    }

    private static byte[] Png(IReadOnlyList<KvOperation> ops, IReadOnlyList<FaultWindow> faults) =>
        HistoryReport.Png("run", ops, faults, KvHistoryChecker.Check(ops), TicksPerSecond);

    /// <summary>Four clients putting steadily, a 5 ms operation every 2.5 ms, from 0 to <paramref name="untilMs"/>.</summary>
    private static (IReadOnlyList<KvOperation> Operations, IReadOnlyList<FaultWindow> Faults) TrafficUntil(long untilMs, FaultWindow fault)
    {
        var h = new H();
        var revision = 1L;
        for (long t = 0; t + 10 <= untilMs; t += 10)
        {
            for (var client = 0; client < 4; client++)
            {
                h.Put(client, t + (client * 2), t + (client * 2) + 5, "k" + client, "v", ++revision);
            }
        }
        return (h.Operations, [fault]);
    }
}
