using System.Globalization;
using System.Text;

namespace RaftKv.Cli.Bench;

/// <summary>The human-readable report: settings, throughput, percentiles, errors and a compact histogram.</summary>
public static class TextReportWriter
{
    private const int BarWidth = 40;

    /// <summary>Renders <paramref name="report"/>.</summary>
    public static string Render(BenchReport report)
    {
        var s = report.Settings;
        var stats = report.Stats;
        var b = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        b.AppendLine(inv, $"workload {Describe(s)}");
        var target = s.LeaderOnly && BenchWorkloads.UsesEtcdApi(s.Workload) ? "leader" : "all";
        var loop = s.RatePerSecond is { } r ? string.Create(inv, $"open loop at {r:F0} req/s") : "closed loop";
        var bounds = new List<string>();
        if (s.Total is { } t) bounds.Add($"{t} requests");
        if (s.Duration is { } d) bounds.Add(string.Create(inv, $"{d.TotalSeconds:F1} s"));
        var where = report.Targets.Count == 0 ? "local" : $"{s.Clients} clients, {report.Connections} conns, target {target} ({string.Join(", ", report.Targets.Select(x => x.Authority))})";
        b.AppendLine(inv, $"  {where}, {loop}, until {string.Join(" or ", bounds)}");
        if (report.Interrupted) b.AppendLine("  interrupted (SIGINT/SIGTERM): partial results");
        b.AppendLine(inv, $"throughput {report.ThroughputOpsPerSecond:F1} ops/s: {stats.Succeeded} ok, {stats.Failed} errors in {report.Elapsed.TotalSeconds:F2} s");
        b.Append("latency ms:");
        foreach (var (label, q) in BenchReport.Quantiles) b.Append(inv, $" {label} {report.LatencyMs(q):F3}");
        b.AppendLine(inv, $" max {report.LatencyMsMax:F3} mean {report.LatencyMsMean:F3}");
        if (stats.Failed > 0) b.AppendLine("errors: " + string.Join(", ", stats.ErrorsByStatus.Select(e => $"{e.Key} {e.Value}")));
        if (s.RatePerSecond is not null) b.AppendLine(inv, $"late starts (all {s.Clients} clients busy): {stats.Late}, max start lag {stats.MaxStartLagUs / 1000.0:F3} ms");
        if (s.Workload == BenchWorkloads.Txn)
        {
            b.AppendLine(inv, $"cas: {stats.CasConflicts} conflicts (retried), counters grew by {report.CasCounterDelta?.ToString(inv) ?? "?"} for {stats.Succeeded} successful increments");
        }
        AppendHistogram(b, stats.Latency);
        return b.ToString();
    }

    /// <summary>The workload and its key/value shape in one phrase.</summary>
    public static string Describe(BenchSettings s) => s.Workload switch
    {
        BenchWorkloads.Put => $"put: key {s.KeySizeBytes} B, value {s.ValueSizeBytes} B, key space {s.KeySpace}, {(s.SequentialKeys ? "sequential" : "random")} keys",
        BenchWorkloads.Range => $"range ({(s.Serializable ? "serializable" : "linearizable")}): key space {s.KeySpace}, {(s.SequentialKeys ? "sequential" : "random")} keys{(s.Prefill ? ", prefilled" : "")}",
        BenchWorkloads.Mixed => $"mixed: {s.ReadRatio:P0} {(s.Serializable ? "serializable" : "linearizable")} reads, value {s.ValueSizeBytes} B, key space {s.KeySpace}{(s.Prefill ? ", prefilled" : "")}",
        BenchWorkloads.Txn => $"txn: compare-and-swap increments of {s.CasKeys} counters (cas/0..{s.CasKeys - 1})",
        BenchWorkloads.Fsync => $"fsync: 4 KiB write + fdatasync in {s.FsyncDirectory}",
        _ => s.Workload,
    };

    /// <summary>
    /// Buckets regrouped on a 1-2-5 scale (µs) so the histogram fits a screen; counts, share, cumulative share, bar.
    /// </summary>
    private static void AppendHistogram(StringBuilder b, LatencyHistogram histogram)
    {
        var buckets = histogram.NonEmptyBuckets();
        if (buckets.Count == 0) return;
        var edges = new List<long> { 0 };
        for (long decade = 1; decade <= LatencyHistogram.MaxTrackableUs; decade *= 10) edges.AddRange([decade, 2 * decade, 5 * decade]);
        var counts = new long[edges.Count];
        foreach (var bucket in buckets)
        {
            var row = edges.FindLastIndex(e => e <= bucket.LowerUs);
            counts[row] += bucket.Count;
        }
        var first = Array.FindIndex(counts, c => c > 0);
        var last = Array.FindLastIndex(counts, c => c > 0);
        var total = (double)counts.Sum();
        var peak = counts.Max();
        long cumulative = 0;
        b.AppendLine("histogram (ms)          count       %   cum %");
        for (var i = first; i <= last; i++)
        {
            cumulative += counts[i];
            var upper = i + 1 < edges.Count ? Ms(edges[i + 1]) : "+";
            var bar = new string('#', (int)Math.Ceiling(BarWidth * (double)counts[i] / peak));
            b.AppendLine(CultureInfo.InvariantCulture, $"  {Ms(edges[i]),8} - {upper,-8} {counts[i],10} {100 * counts[i] / total,7:F2} {100 * cumulative / total,7:F2} {(counts[i] == 0 ? "" : bar)}");
        }
    }

    private static string Ms(long us) => (us / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
}
