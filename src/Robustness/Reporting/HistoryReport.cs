using System.Globalization;
using System.Net;
using System.Text;
using RaftKv.Robustness.Checking;
using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Reporting;

/// <summary>
/// One self-contained HTML page for a run (issue 16): throughput and latency over time with the fault windows shaded,
/// the verdict of each check, and for a failed check its explanation (the longest linearizable prefix and the
/// operations that could not follow it). Charts are inline SVG: no script, no outside file. The same run also renders
/// as a PNG (<see cref="Png"/>), for places that show images but not pages; both draw the same <see cref="RunSeries"/>.
/// </summary>
public static class HistoryReport
{
    private const int Width = 960;
    private const int Height = 180;

    /// <summary>Renders the page; times in the history and the faults are in ticks of <paramref name="ticksPerSecond"/>.</summary>
    /// <param name="title">The page's heading.</param>
    /// <param name="operations">The recorded history.</param>
    /// <param name="faults">The faults injected during the run.</param>
    /// <param name="report">The checkers' verdicts on <paramref name="operations"/>.</param>
    /// <param name="ticksPerSecond">The history's clock rate, for example <see cref="System.Diagnostics.Stopwatch.Frequency"/>.</param>
    public static string Html(string title, IReadOnlyList<KvOperation> operations, IReadOnlyList<FaultWindow> faults, KvCheckReport report, long ticksPerSecond)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(report);
        var run = RunSeries.Of(operations, faults, ticksPerSecond);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title><style>")
            .Append("body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}")
            .Append(".ok{color:#1a7f37;font-weight:bold}.bad{color:#cf222e;font-weight:bold}.unk{color:#9a6700;font-weight:bold}pre{background:#f6f8fa;padding:8px;overflow:auto}")
            .Append("</style></head><body>");
        html.Append("<h1>").Append(E(title)).Append("</h1>");
        html.Append("<p>").Append(E(run.Summary)).Append("</p>");
        html.Append("<h2>Verdicts</h2><table><tr><th>check</th><th>verdict</th><th>detail</th></tr>");
        foreach (var verdict in CheckVerdict.Of(report)) Row(html, verdict);
        html.Append("</table>");

        html.Append("<h2>Throughput (operations/s: answered, and of unknown outcome)</h2>");
        Chart(html, [(run.OkPerSecond, ReportPalette.Answered), (run.UnknownPerSecond, ReportPalette.Unknown)], faults, run);
        html.Append("<h2>Latency (ms: p50, p99 of the operations answered in each interval)</h2>");
        Chart(html, [(run.P50Ms, ReportPalette.P50), (run.P99Ms, ReportPalette.P99)], faults, run);

        html.Append("<h2>Faults</h2><table><tr><th>fault</th><th>member</th><th>from (s)</th><th>to (s)</th></tr>");
        foreach (var f in faults)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(f.Kind)}</td><td>{E(f.Target)}</td><td>{run.SecondsFromStart(f.Start):F2}</td><td>{run.SecondsFromStart(f.End):F2}</td></tr>");
        }
        html.Append("</table>");
        if (!report.Passed) html.Append("<h2>Why it failed</h2><pre>").Append(E(report.Describe())).Append("</pre>");
        html.Append("</body></html>\n");
        return html.ToString();
    }

    /// <summary>
    /// Renders the same run as a fixed-size PNG (8-bit RGB): throughput and latency over time with the fault windows
    /// shaded and labelled, and one line with each check's verdict; times are in ticks of <paramref name="ticksPerSecond"/>.
    /// </summary>
    /// <param name="title">The image's heading; cut to fit the width.</param>
    /// <param name="operations">The recorded history.</param>
    /// <param name="faults">The faults injected during the run.</param>
    /// <param name="report">The checkers' verdicts on <paramref name="operations"/>.</param>
    /// <param name="ticksPerSecond">The history's clock rate, for example <see cref="System.Diagnostics.Stopwatch.Frequency"/>.</param>
    /// <returns>The PNG file's bytes.</returns>
    public static byte[] Png(string title, IReadOnlyList<KvOperation> operations, IReadOnlyList<FaultWindow> faults, KvCheckReport report, long ticksPerSecond)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(report);
        var run = RunSeries.Of(operations, faults, ticksPerSecond);
        return PngEncoder.Encode(HistoryPng.Draw(title, run, faults, CheckVerdict.Of(report)));
    }

    private static void Row(StringBuilder html, CheckVerdict verdict)
    {
        var css = verdict.Verdict switch { Verdict.Ok => "ok", Verdict.Illegal => "bad", _ => "unk" };
        html.Append("<tr><td>").Append(E(verdict.Check)).Append("</td><td class=\"").Append(css).Append("\">").Append(verdict.Verdict).Append("</td><td>").Append(E(verdict.Detail)).Append("</td></tr>");
    }

    private static void Chart(StringBuilder html, (double[] Values, Rgb Color)[] series, IReadOnlyList<FaultWindow> faults, RunSeries run)
    {
        var max = RunSeries.ScaleMax(series.Select(s => s.Values));
        html.Append(CultureInfo.InvariantCulture, $"<svg width=\"{Width}\" height=\"{Height + 20}\" xmlns=\"http://www.w3.org/2000/svg\">");
        foreach (var f in faults)
        {
            var x0 = X(f.Start);
            var x1 = Math.Max(x0 + 1, X(f.End));
            html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x0:F1}\" y=\"0\" width=\"{x1 - x0:F1}\" height=\"{Height}\" fill=\"{ReportPalette.FaultShade}\" opacity=\"0.6\"><title>{E(f.Kind)} {E(f.Target)}</title></rect>");
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + 2:F1}\" y=\"12\" font-size=\"10\">{E(f.Kind)} {E(f.Target)}</text>");
        }
        foreach (var (values, color) in series)
        {
            var points = string.Join(' ', values.Select((v, i) => string.Create(CultureInfo.InvariantCulture, $"{RunSeries.BucketCentre(i) * Width:F1},{Height - v / max * (Height - 16):F1}")));
            html.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{points}\"/>");
        }
        html.Append(CultureInfo.InvariantCulture, $"<line x1=\"0\" y1=\"{Height}\" x2=\"{Width}\" y2=\"{Height}\" stroke=\"{ReportPalette.Axis}\"/>");
        html.Append(CultureInfo.InvariantCulture, $"<text x=\"2\" y=\"{Height + 14}\" font-size=\"11\">0 s</text><text x=\"{Width - 60}\" y=\"{Height + 14}\" font-size=\"11\">max {max:F0}</text>");
        html.Append("</svg>");

        double X(long time) => run.Fraction(time) * Width;
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
