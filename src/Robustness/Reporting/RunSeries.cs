using System.Globalization;
using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Reporting;

/// <summary>
/// What both renderings of a run (the HTML page and the PNG) draw, computed once: the run's time range cut into
/// <see cref="Buckets"/> equal intervals, and per interval the answered and unknown-outcome operations per second and
/// the p50/p99 latency of the operations answered in it. The run lasts from the first call to the last return, call of
/// unknown outcome or fault end.
/// </summary>
internal sealed class RunSeries
{
    /// <summary>How many intervals the run is cut into, whatever its length: the charts' size does not grow with it.</summary>
    public const int Buckets = 120;

    private readonly long _ticksPerSecond;

    private RunSeries(long start, long end, long ticksPerSecond, string summary)
    {
        Start = start;
        End = end;
        _ticksPerSecond = ticksPerSecond;
        Summary = summary;
    }

    /// <summary>The earliest call (the history's clock); 0 for an empty history.</summary>
    public long Start { get; }

    /// <summary>The latest return, call of unknown outcome or fault end; always after <see cref="Start"/>.</summary>
    public long End { get; }

    /// <summary>Answered operations per second, by the interval they returned in.</summary>
    public double[] OkPerSecond { get; } = new double[Buckets];

    /// <summary>Operations of unknown outcome per second, by the interval they were called in.</summary>
    public double[] UnknownPerSecond { get; } = new double[Buckets];

    /// <summary>The median latency (ms) of the operations answered in each interval; 0 where none was.</summary>
    public double[] P50Ms { get; } = new double[Buckets];

    /// <summary>The 99th percentile latency (ms) of the operations answered in each interval; 0 where none was.</summary>
    public double[] P99Ms { get; } = new double[Buckets];

    /// <summary>One sentence: how many operations, how many of unknown outcome, over how long, how many faults.</summary>
    public string Summary { get; }

    /// <summary>Buckets the history; its times and the faults' are in ticks of <paramref name="ticksPerSecond"/>.</summary>
    public static RunSeries Of(IReadOnlyList<KvOperation> operations, IReadOnlyList<FaultWindow> faults, long ticksPerSecond)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(faults);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ticksPerSecond);
        var start = operations.Count == 0 ? 0 : operations.Min(o => o.CallTime);
        // An operation of unknown outcome has no return time, but its call still belongs in the run.
        var end = Math.Max(start + 1, operations.Select(o => o.IsCompleted ? o.ReturnTime : o.CallTime).Concat(faults.Select(f => f.End)).DefaultIfEmpty(start + 1).Max());
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"{operations.Count} operations ({operations.Count(o => !o.IsCompleted)} of unknown outcome) over {(end - start) / (double)ticksPerSecond:F1} s; {faults.Count} faults.");
        var series = new RunSeries(start, end, ticksPerSecond, summary);
        series.Fill(operations);
        return series;
    }

    /// <summary>Where <paramref name="time"/> falls in the run, from 0 (its start) to 1 (its end), clamped.</summary>
    public double Fraction(long time) => Math.Clamp((double)(time - Start) / (End - Start), 0, 1);

    /// <summary>Seconds from the run's start to <paramref name="time"/>.</summary>
    public double SecondsFromStart(long time) => (time - Start) / (double)_ticksPerSecond;

    /// <summary>Where the middle of interval <paramref name="bucket"/> falls in the run, from 0 to 1.</summary>
    public static double BucketCentre(int bucket) => (bucket + 0.5) / Buckets;

    /// <summary>The top of a chart's scale: the largest value of any of the series, and at least 1.</summary>
    public static double ScaleMax(IEnumerable<IReadOnlyList<double>> series) => Math.Max(1, series.SelectMany(s => s).DefaultIfEmpty(0).Max());

    private void Fill(IReadOnlyList<KvOperation> operations)
    {
        var bucketTicks = Math.Max(1, (End - Start + Buckets - 1) / Buckets);
        var perOperation = _ticksPerSecond / (double)bucketTicks;
        var latencies = Enumerable.Range(0, Buckets).Select(_ => new List<double>()).ToArray();
        foreach (var op in operations)
        {
            if (op.IsCompleted)
            {
                var b = Bucket(op.ReturnTime, bucketTicks);
                OkPerSecond[b] += perOperation;
                latencies[b].Add((op.ReturnTime - op.CallTime) * 1000.0 / _ticksPerSecond);
            }
            else
            {
                UnknownPerSecond[Bucket(op.CallTime, bucketTicks)] += perOperation;
            }
        }
        for (var b = 0; b < Buckets; b++)
        {
            P50Ms[b] = Percentile(latencies[b], 0.50);
            P99Ms[b] = Percentile(latencies[b], 0.99);
        }
    }

    private int Bucket(long time, long bucketTicks) => (int)Math.Clamp((time - Start) / bucketTicks, 0, Buckets - 1);

    private static double Percentile(List<double> values, double q)
    {
        if (values.Count == 0) return 0;
        values.Sort();
        return values[Math.Min(values.Count - 1, (int)Math.Ceiling(q * values.Count) - 1)];
    }
}
