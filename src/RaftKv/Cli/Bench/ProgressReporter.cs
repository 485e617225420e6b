using System.Diagnostics;
using System.Globalization;

namespace RaftKv.Cli.Bench;

/// <summary>Writes one progress line per second to stderr while a run goes on (stdout stays clean for -o json).</summary>
public sealed class ProgressReporter(string workload, BenchStats stats, long? total, TextWriter output)
{
    /// <summary>Reports until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        long lastDone = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var done = stats.Succeeded;
                var of = total is { } t ? $"/{t}" : "";
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"[{Stopwatch.GetElapsedTime(start).TotalSeconds,5:F0}s] {workload}: {done}{of} ok, {stats.Failed} errors, {done - lastDone} ops/s, " +
                    $"p50 {stats.Latency.ValueAtQuantileUs(0.5) / 1000.0:F2} ms, p99 {stats.Latency.ValueAtQuantileUs(0.99) / 1000.0:F2} ms");
                await output.WriteLineAsync(line).ConfigureAwait(false);
                lastDone = done;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
