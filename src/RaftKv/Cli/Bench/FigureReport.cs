using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RaftKv.Cli.Bench;

/// <summary>
/// The report of a watch or lease workload: named figures in the order they were added (numbers, booleans, strings,
/// or latency summaries from a <see cref="LatencyHistogram"/>), rendered as one JSON object or as text lines.
/// </summary>
public sealed class FigureReport(BenchSettings settings, IReadOnlyList<Uri> targets)
{
    private readonly List<(string Name, object? Value)> _figures = [];

    /// <summary>Adds a figure (a number, bool, string or null); doubles are rounded to 4 decimals.</summary>
    public FigureReport Add(string name, object? value)
    {
        _figures.Add((name, value is double d ? Math.Round(d, 4) : value));
        return this;
    }

    /// <summary>Adds p50, p90, p99, p99.9, max and mean of <paramref name="histogram"/> in ms, and its count.</summary>
    public FigureReport AddLatency(string name, LatencyHistogram histogram)
    {
        _figures.Add((name, histogram));
        return this;
    }

    /// <summary>The value of figure <paramref name="name"/> (tests, summaries); null when absent.</summary>
    public object? this[string name] => _figures.FirstOrDefault(f => f.Name == name).Value;

    /// <summary>JSON on one line, or text, as --output says.</summary>
    public string Render() => settings.Json ? RenderJson() + Environment.NewLine : RenderText();

    private string RenderJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("workload", settings.Workload);
            w.WriteStartObject("settings");
            w.WriteStartArray("endpoints");
            foreach (var e in settings.Endpoints) w.WriteStringValue(e.Authority);
            w.WriteEndArray();
            w.WriteString("target", settings.LeaderOnly ? "leader" : "all");
            w.WriteStartArray("targets");
            foreach (var t in targets) w.WriteStringValue(t.Authority);
            w.WriteEndArray();
            w.WriteNumber("conns", settings.Connections);
            w.WriteNumber("clients", settings.Clients);
            w.WriteNumber("streams", settings.Streams);
            w.WriteNumber("watchers", settings.Watchers);
            w.WriteNumber("leases", settings.Leases);
            w.WriteNumber("leaseTtlS", settings.LeaseTtlSeconds);
            w.WriteNumber("inFlight", settings.InFlight);
            w.WriteNumber("valSize", settings.ValueSizeBytes);
            w.WriteNumber("keySpace", settings.KeySpace);
            if (settings.RatePerSecond is { } rate) w.WriteNumber("rate", rate);
            else w.WriteNull("rate");
            if (settings.Duration is { } duration) w.WriteNumber("durationS", duration.TotalSeconds);
            else w.WriteNull("durationS");
            w.WriteEndObject();
            foreach (var (name, value) in _figures)
            {
                switch (value)
                {
                    case null: w.WriteNull(name); break;
                    case bool b: w.WriteBoolean(name, b); break;
                    case string s: w.WriteString(name, s); break;
                    case int i: w.WriteNumber(name, i); break;
                    case long l: w.WriteNumber(name, l); break;
                    case double d: w.WriteNumber(name, d); break;
                    case LatencyHistogram h:
                        w.WriteStartObject(name);
                        w.WriteNumber("count", h.Count);
                        w.WriteNumber("p50", Ms(h.ValueAtQuantileUsOrZero(0.5)));
                        w.WriteNumber("p90", Ms(h.ValueAtQuantileUsOrZero(0.9)));
                        w.WriteNumber("p99", Ms(h.ValueAtQuantileUsOrZero(0.99)));
                        w.WriteNumber("p999", Ms(h.ValueAtQuantileUsOrZero(0.999)));
                        w.WriteNumber("max", Ms(h.MaxUs));
                        w.WriteNumber("mean", Math.Round(h.MeanUs / 1000.0, 4));
                        w.WriteEndObject();
                        break;
                    default: w.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture)); break;
                }
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private string RenderText()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"workload {settings.Workload} against {string.Join(", ", targets.Select(t => t.Authority))}\n");
        var width = _figures.Count == 0 ? 0 : _figures.Max(f => f.Name.Length);
        foreach (var (name, value) in _figures)
        {
            var text = value switch
            {
                null => "n/a",
                double d => d.ToString("#,0.####", CultureInfo.InvariantCulture),
                long l => l.ToString("#,0", CultureInfo.InvariantCulture),
                int i => i.ToString("#,0", CultureInfo.InvariantCulture),
                LatencyHistogram h => h.Count == 0 ? "no samples" : string.Create(CultureInfo.InvariantCulture,
                    $"p50 {Ms(h.ValueAtQuantileUsOrZero(0.5))} ms, p90 {Ms(h.ValueAtQuantileUsOrZero(0.9))}, p99 {Ms(h.ValueAtQuantileUsOrZero(0.99))}, " +
                    $"p99.9 {Ms(h.ValueAtQuantileUsOrZero(0.999))}, max {Ms(h.MaxUs)} ({h.Count:#,0} samples)"),
                _ => Convert.ToString(value, CultureInfo.InvariantCulture),
            };
            sb.Append(name.PadRight(width)).Append("  ").Append(text).Append('\n');
        }
        return sb.ToString();
    }

    private static double Ms(long us) => us / 1000.0;
}

/// <summary>Helpers on <see cref="LatencyHistogram"/> for reports.</summary>
public static class LatencyHistogramExtensions
{
    /// <summary><see cref="LatencyHistogram.ValueAtQuantileUs"/>, 0 when empty.</summary>
    public static long ValueAtQuantileUsOrZero(this LatencyHistogram histogram, double quantile) =>
        histogram.Count == 0 ? 0 : histogram.ValueAtQuantileUs(quantile);
}
