namespace RaftKv.Cli.Bench;

/// <summary>The outcome of one run: what was asked, where it went, and what came back.</summary>
public sealed record BenchReport
{
    /// <summary>The run's settings.</summary>
    public required BenchSettings Settings { get; init; }

    /// <summary>Where the channels went (the leader, or every endpoint).</summary>
    public required IReadOnlyList<Uri> Targets { get; init; }

    /// <summary>Channels actually opened (may exceed --conns with --target all, to reach every endpoint).</summary>
    public required int Connections { get; init; }

    /// <summary>From the first request to the last completion.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Counters and latencies.</summary>
    public required BenchStats Stats { get; init; }

    /// <summary>txn workload: how much the counters grew during the run (compare with the successes: a request
    /// that timed out may still have committed, so it can be larger, never smaller).</summary>
    public long? CasCounterDelta { get; init; }

    /// <summary>True when Ctrl+C cut the run short.</summary>
    public bool Interrupted { get; init; }

    /// <summary>Successful requests per second.</summary>
    public double ThroughputOpsPerSecond => Elapsed.TotalSeconds > 0 ? Stats.Succeeded / Elapsed.TotalSeconds : 0;

    /// <summary>Latency at quantile <paramref name="quantile"/>, in milliseconds.</summary>
    public double LatencyMs(double quantile) => Stats.Latency.ValueAtQuantileUs(quantile) / 1000.0;

    /// <summary>Largest latency, in milliseconds.</summary>
    public double LatencyMsMax => Stats.Latency.MaxUs / 1000.0;

    /// <summary>Mean latency, in milliseconds.</summary>
    public double LatencyMsMean => Stats.Latency.MeanUs / 1000.0;

    /// <summary>The quantiles every report shows, with their labels.</summary>
    public static readonly (string Label, double Quantile)[] Quantiles = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)];
}
