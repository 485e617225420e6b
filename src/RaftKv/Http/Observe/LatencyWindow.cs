namespace RaftKv.Http.Observe;

/// <summary>The latest request latencies (bounded), for percentiles over a recent window.</summary>
internal sealed class LatencyWindow(TimeProvider time, int capacity = 2048)
{
    private readonly (long At, double Ms)[] _samples = new (long, double)[capacity];
    private readonly Lock _gate = new();
    private long _added;

    public void Add(TimeSpan latency)
    {
        var at = time.GetTimestamp();
        lock (_gate)
        {
            _samples[_added % _samples.Length] = (at, latency.TotalMilliseconds);
            _added++;
        }
    }

    /// <summary>Median and 99th percentile (ms) of samples in the last <paramref name="window"/>; null when there are none.</summary>
    public LatencySummary? Summary(TimeSpan window)
    {
        var oldest = time.GetTimestamp() - (long)(window.TotalSeconds * time.TimestampFrequency);
        List<double> recent;
        lock (_gate)
        {
            var count = (int)Math.Min(_added, _samples.Length);
            recent = new List<double>(count);
            for (var i = 0; i < count; i++)
            {
                var (at, ms) = _samples[i];
                if (at >= oldest) recent.Add(ms);
            }
        }
        if (recent.Count == 0) return null;
        recent.Sort();
        return new LatencySummary(recent.Count, Percentile(recent, 0.5), Percentile(recent, 0.99));
    }

    private static double Percentile(List<double> sorted, double q) =>
        Math.Round(sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)], 3);
}

/// <summary>Request latencies over a recent window.</summary>
/// <param name="Count">Requests in the window.</param>
/// <param name="P50Ms">Median (ms).</param>
/// <param name="P99Ms">99th percentile (ms).</param>
public sealed record LatencySummary(int Count, double P50Ms, double P99Ms);
