using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;

namespace RaftKv.Cli.Bench;

/// <summary>
/// Issues a workload's requests until --total requests were issued or --duration passed, either closed loop
/// (each client sends its next request when the previous one completes) or open loop at a fixed rate, where
/// latency is measured from each request's scheduled start so a slow server cannot hide its queueing delay
/// (no coordinated omission).
/// </summary>
public sealed class LoadDriver(IBenchOperation operation, IReadOnlyList<BenchClient> clients, BenchStats stats, TimeSpan requestTimeout)
{
    /// <summary>After a failure faster than this, a closed-loop client pauses (a dead endpoint must not turn into a busy loop).</summary>
    private static readonly TimeSpan FastFailure = TimeSpan.FromMilliseconds(1);

    private long _issued;
    private long _total = long.MaxValue;

    /// <summary>Runs to the bound; returns the time from the first request to the last completion.</summary>
    /// <param name="total">Requests to issue, or null for no count bound.</param>
    /// <param name="duration">How long to keep issuing (always bounded).</param>
    /// <param name="ratePerSecond">Open-loop rate, or null for closed loop.</param>
    /// <param name="cancellationToken">Stops issuing and cancels what is in flight (Ctrl+C).</param>
    public async Task<TimeSpan> RunAsync(long? total, TimeSpan duration, double? ratePerSecond, CancellationToken cancellationToken)
    {
        _total = total ?? long.MaxValue;
        var start = Stopwatch.GetTimestamp();
        var stopAt = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        if (ratePerSecond is { } rate) await OpenLoopAsync(start, stopAt, rate, cancellationToken).ConfigureAwait(false);
        else await Task.WhenAll(clients.Select(c => ClosedLoopClientAsync(c, stopAt, cancellationToken))).ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(start);
    }

    private async Task ClosedLoopClientAsync(BenchClient client, long stopAt, CancellationToken cancellationToken)
    {
        await Task.Yield(); // the clients start together instead of one after another on the caller's thread
        while (!cancellationToken.IsCancellationRequested)
        {
            var sequence = Interlocked.Increment(ref _issued) - 1;
            if (sequence >= _total) return;
            var t0 = Stopwatch.GetTimestamp();
            if (t0 >= stopAt) return;
            if (!await ExecuteAsync(client, sequence, t0, cancellationToken).ConfigureAwait(false) && Stopwatch.GetElapsedTime(t0) < FastFailure)
            {
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task OpenLoopAsync(long start, long stopAt, double rate, CancellationToken cancellationToken)
    {
        // A client is a slot for one outstanding request: at most clients.Count in flight, so an overloaded server
        // makes requests start late (counted) instead of piling up without bound.
        var free = Channel.CreateUnbounded<int>();
        for (var i = 0; i < clients.Count; i++) free.Writer.TryWrite(i);
        var running = new Task[clients.Count];
        Array.Fill(running, Task.CompletedTask);
        var ticksPerRequest = Stopwatch.Frequency / rate;
        try
        {
            for (long k = 0; k < _total; k++)
            {
                var scheduled = start + (long)(k * ticksPerRequest);
                if (scheduled >= stopAt) break;
                for (var remaining = scheduled - Stopwatch.GetTimestamp(); remaining > 0; remaining = scheduled - Stopwatch.GetTimestamp())
                {
                    // Timer resolution is about 1 ms: requests due within it go out together, each timed from its own
                    // schedule. The wait is computed once and positive: a late wake-up must never become Delay(-1 ms) = forever.
                    await Task.Delay(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency), cancellationToken).ConfigureAwait(false);
                }
                if (!free.Reader.TryRead(out var slot))
                {
                    slot = await free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    stats.LateStart(ToMicroseconds(Stopwatch.GetTimestamp() - scheduled));
                }
                running[slot] = RunSlotAsync(slot, k, scheduled, free.Writer, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private async Task RunSlotAsync(int slot, long sequence, long scheduled, ChannelWriter<int> free, CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync(clients[slot], sequence, scheduled, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            free.TryWrite(slot);
        }
    }

    /// <summary>One request, timed from <paramref name="timedFrom"/>; true on success.</summary>
    private async Task<bool> ExecuteAsync(BenchClient client, long sequence, long timedFrom, CancellationToken cancellationToken)
    {
        try
        {
            var options = new CallOptions(deadline: DateTime.UtcNow + requestTimeout, cancellationToken: cancellationToken);
            await operation.ExecuteAsync(client, sequence, options).ConfigureAwait(false);
            stats.Success(ToMicroseconds(Stopwatch.GetTimestamp() - timedFrom));
            return true;
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or IOException or HttpRequestException)
        {
            // Requests cut short by Ctrl+C are not the server's failures.
            if (!cancellationToken.IsCancellationRequested) stats.Failure(e);
            return false;
        }
    }

    private static long ToMicroseconds(long stopwatchTicks) => (long)(stopwatchTicks * 1_000_000.0 / Stopwatch.Frequency);
}
