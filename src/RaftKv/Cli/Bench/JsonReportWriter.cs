using System.Text;
using System.Text.Json;

namespace RaftKv.Cli.Bench;

/// <summary>
/// The report as one JSON object for scripts: workload, settings, throughputOpsPerS, latencyMs (p50, p90, p99,
/// p999, max, mean), ok, errors, errorsByStatus, and the non-empty histogram buckets in µs.
/// </summary>
public static class JsonReportWriter
{
    /// <summary>Renders <paramref name="report"/> as JSON on one line.</summary>
    public static string Render(BenchReport report)
    {
        var s = report.Settings;
        var stats = report.Stats;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("workload", s.Workload);
            w.WriteStartObject("settings");
            w.WriteStartArray("endpoints");
            foreach (var e in s.Endpoints) w.WriteStringValue(e.Authority);
            w.WriteEndArray();
            w.WriteString("target", s.LeaderOnly && BenchWorkloads.UsesEtcdApi(s.Workload) ? "leader" : "all");
            w.WriteStartArray("targets");
            foreach (var t in report.Targets) w.WriteStringValue(t.Authority);
            w.WriteEndArray();
            w.WriteNumber("clients", s.Clients);
            w.WriteNumber("conns", report.Connections);
            WriteNullable(w, "total", s.Total);
            WriteNullable(w, "durationS", s.Duration?.TotalSeconds);
            WriteNullable(w, "rate", s.RatePerSecond);
            w.WriteNumber("keySize", s.KeySizeBytes);
            w.WriteNumber("valSize", s.ValueSizeBytes);
            w.WriteNumber("keySpace", s.KeySpace);
            w.WriteBoolean("sequentialKeys", s.SequentialKeys);
            w.WriteString("consistency", s.Serializable ? "s" : "l");
            w.WriteNumber("readRatio", s.ReadRatio);
            w.WriteNumber("casKeys", s.CasKeys);
            w.WriteBoolean("prefill", s.Prefill);
            w.WriteEndObject();

            w.WriteBoolean("interrupted", report.Interrupted);
            w.WriteNumber("elapsedS", Math.Round(report.Elapsed.TotalSeconds, 4));
            w.WriteNumber("ok", stats.Succeeded);
            w.WriteNumber("errors", stats.Failed);
            w.WriteNumber("throughputOpsPerS", Math.Round(report.ThroughputOpsPerSecond, 2));
            w.WriteStartObject("latencyMs");
            w.WriteNumber("p50", report.LatencyMs(0.5));
            w.WriteNumber("p90", report.LatencyMs(0.9));
            w.WriteNumber("p99", report.LatencyMs(0.99));
            w.WriteNumber("p999", report.LatencyMs(0.999));
            w.WriteNumber("max", report.LatencyMsMax);
            w.WriteNumber("mean", Math.Round(report.LatencyMsMean, 4));
            w.WriteEndObject();
            w.WriteStartObject("errorsByStatus");
            foreach (var (status, count) in stats.ErrorsByStatus) w.WriteNumber(status, count);
            w.WriteEndObject();
            if (s.RatePerSecond is not null)
            {
                w.WriteNumber("lateStarts", stats.Late);
                w.WriteNumber("maxStartLagMs", stats.MaxStartLagUs / 1000.0);
            }
            if (s.Workload == BenchWorkloads.Txn)
            {
                w.WriteNumber("casConflicts", stats.CasConflicts);
                WriteNullable(w, "casCounterDelta", report.CasCounterDelta);
            }
            w.WriteStartArray("histogramUs");
            foreach (var bucket in stats.Latency.NonEmptyBuckets())
            {
                w.WriteStartArray();
                w.WriteNumberValue(bucket.LowerUs);
                w.WriteNumberValue(bucket.UpperUs);
                w.WriteNumberValue(bucket.Count);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
