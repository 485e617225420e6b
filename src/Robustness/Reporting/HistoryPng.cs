using System.Globalization;
using RaftKv.Robustness.Checking;

namespace RaftKv.Robustness.Reporting;

/// <summary>
/// Draws a run's report on a fixed-size canvas (issue 16): a title, the summary, one line with each check's verdict,
/// then the throughput chart and the latency chart, each over the run's time with the fault windows shaded and
/// labelled. The charts draw the same <see cref="RunSeries"/> as the HTML page.
/// </summary>
internal static class HistoryPng
{
    /// <summary>The image's width in pixels, whatever the run.</summary>
    public const int Width = 960;

    /// <summary>The image's height in pixels, whatever the run.</summary>
    public const int Height = 436;

    /// <summary>The left edge of both charts' plot areas.</summary>
    public const int PlotLeft = Margin;

    /// <summary>The width of both charts' plot areas; time runs across it from the run's start to its end.</summary>
    public const int PlotWidth = Width - (2 * Margin);

    /// <summary>The height of each chart's plot area; its bottom row is the axis (value 0).</summary>
    public const int PlotHeight = 150;

    /// <summary>The top row of the throughput chart's plot area.</summary>
    public const int ThroughputPlotTop = 78;

    /// <summary>The top row of the latency chart's plot area.</summary>
    public const int LatencyPlotTop = 266;

    /// <summary>The row the verdict line starts on.</summary>
    public const int VerdictTop = 44;

    /// <summary>
    /// At most this many fault windows are drawn (the first ones); the rest are counted in the heading. More than a run
    /// makes (its injector stops at 1,000; a 10-minute run has about 100): 64 left half of one undrawn.
    /// </summary>
    public const int MaxFaultsDrawn = 1_024;

    private const int Margin = 8;
    private const int HeadingGap = 14;
    private const int MaxFaultLabelChars = 24;

    /// <summary>The report as a canvas, ready for <see cref="PngEncoder"/>.</summary>
    public static RasterCanvas Draw(string title, RunSeries run, IReadOnlyList<FaultWindow> faults, IReadOnlyList<CheckVerdict> verdicts)
    {
        var canvas = new RasterCanvas(Width, Height, ReportPalette.Background);
        canvas.Text(Margin, Margin, BitmapFont.Fit(title, PlotWidth, scale: 2), ReportPalette.Text, scale: 2);
        canvas.Text(Margin, 30, BitmapFont.Fit(run.Summary, PlotWidth), ReportPalette.Text);
        DrawVerdicts(canvas, verdicts);
        var hidden = faults.Count > MaxFaultsDrawn ? string.Create(CultureInfo.InvariantCulture, $"; {faults.Count - MaxFaultsDrawn} faults not drawn") : "";
        var drawn = faults.Take(MaxFaultsDrawn).ToArray();
        DrawChart(canvas, ThroughputPlotTop, "throughput, operations/s" + hidden, [("answered", run.OkPerSecond, ReportPalette.Answered), ("unknown outcome", run.UnknownPerSecond, ReportPalette.Unknown)], drawn, run);
        DrawChart(canvas, LatencyPlotTop, "latency, ms" + hidden, [("p50", run.P50Ms, ReportPalette.P50), ("p99", run.P99Ms, ReportPalette.P99)], drawn, run);
        return canvas;
    }

    /// <summary>The column time <paramref name="time"/> falls on in both charts.</summary>
    public static int X(RunSeries run, long time) => PlotLeft + (int)Math.Round(run.Fraction(time) * (PlotWidth - 1));

    private static void DrawVerdicts(RasterCanvas canvas, IReadOnlyList<CheckVerdict> verdicts)
    {
        var x = Margin;
        foreach (var v in verdicts)
        {
            var (word, colour) = v.Verdict switch
            {
                Verdict.Ok => ("passed", ReportPalette.Passed),
                Verdict.Illegal => ("failed", ReportPalette.Failed),
                _ => ("undecided", ReportPalette.Undecided),
            };
            x = canvas.Text(x, VerdictTop, v.Check + ": ", ReportPalette.Text);
            x = canvas.Text(x, VerdictTop, word, colour);
            x = canvas.Text(x, VerdictTop, " (" + v.Detail + ")   ", ReportPalette.Text);
        }
    }

    private static void DrawChart(RasterCanvas canvas, int plotTop, string heading, (string Name, double[] Values, Rgb Colour)[] series, FaultWindow[] faults, RunSeries run)
    {
        var max = RunSeries.ScaleMax(series.Select(s => s.Values));
        var x = canvas.Text(Margin, plotTop - HeadingGap, heading + ":", ReportPalette.Text);
        foreach (var (name, _, colour) in series)
        {
            canvas.FillRect(x + BitmapFont.Advance, plotTop - HeadingGap, 2 * BitmapFont.Advance, BitmapFont.GlyphHeight, colour);
            x = canvas.Text(x + (4 * BitmapFont.Advance), plotTop - HeadingGap, name, ReportPalette.Text);
        }
        canvas.Text(x + (2 * BitmapFont.Advance), plotTop - HeadingGap, string.Create(CultureInfo.InvariantCulture, $"(max {max:F0})"), ReportPalette.Text);

        foreach (var f in faults) canvas.FillRect(X(run, f.Start), plotTop, Math.Max(1, X(run, f.End) - X(run, f.Start)), PlotHeight, ReportPalette.FaultShade);
        var axis = plotTop + PlotHeight - 1;
        canvas.Line(PlotLeft, axis, PlotLeft + PlotWidth - 1, axis, ReportPalette.Axis);
        foreach (var (_, values, colour) in series) DrawSeries(canvas, values, max, axis, colour);
        DrawFaultLabels(canvas, plotTop, faults, run);

        var labelTop = axis + 4;
        canvas.Text(PlotLeft, labelTop, "0 s", ReportPalette.Text);
        var end = string.Create(CultureInfo.InvariantCulture, $"{run.SecondsFromStart(run.End):F1} s");
        canvas.Text(PlotLeft + PlotWidth - (end.Length * BitmapFont.Advance), labelTop, end, ReportPalette.Text);
    }

    private static void DrawSeries(RasterCanvas canvas, double[] values, double max, int axis, Rgb colour)
    {
        // Values are scaled so the largest sits 12 pixels below the plot's top, where the fault labels are.
        var scale = (PlotHeight - 12) / max;
        (int X, int Y) Point(int b) => (PlotLeft + (int)Math.Round(RunSeries.BucketCentre(b) * (PlotWidth - 1)), axis - (int)Math.Round(values[b] * scale));
        for (var b = 1; b < values.Length; b++)
        {
            var (x0, y0) = Point(b - 1);
            var (x1, y1) = Point(b);
            // Two pixels thick, so the line stays visible where it runs along the axis.
            canvas.Line(x0, y0, x1, y1, colour);
            canvas.Line(x0, y0 - 1, x1, y1 - 1, colour);
        }
    }

    private static void DrawFaultLabels(RasterCanvas canvas, int plotTop, FaultWindow[] faults, RunSeries run)
    {
        // A label that would overlap the one before it is left out; the band itself is always drawn.
        var free = 0;
        foreach (var f in faults)
        {
            var x = X(run, f.Start) + 2;
            if (x < free) continue;
            var label = BitmapFont.Fit($"{f.Kind} {f.Target}", MaxFaultLabelChars * BitmapFont.Advance);
            free = canvas.Text(x, plotTop + 2, label, ReportPalette.Text) + BitmapFont.Advance;
        }
    }
}
