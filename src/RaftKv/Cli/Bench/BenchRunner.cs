using Grpc.Core;
using Grpc.Net.Client;

namespace RaftKv.Cli.Bench;

/// <summary>
/// One <c>raftkv bench</c> run: finds the targets (the leader, or every answering endpoint), opens the channels,
/// warms each up, optionally prefills the key space, measures, and prints the report.
/// </summary>
public sealed class BenchRunner(BenchSettings settings, TextWriter stdout, TextWriter stderr)
{
    /// <summary>Exit code: at least one request succeeded.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code: every request failed (or none completed).</summary>
    public const int ExitAllFailed = 1;

    /// <summary>Exit code: no endpoint answered, or there is no leader to target.</summary>
    public const int ExitNoEndpoint = 2;

    /// <summary>How long leader-only targeting waits for an election in progress.</summary>
    private static readonly TimeSpan LeaderPatience = TimeSpan.FromSeconds(5);

    /// <summary>Runs; returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            return settings.Workload == BenchWorkloads.Fsync ? await RunFsyncAsync(cancellationToken).ConfigureAwait(false) : await RunRemoteAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("bench: interrupted before the measurement started").ConfigureAwait(false);
            return ExitAllFailed;
        }
    }

    private async Task<int> RunFsyncAsync(CancellationToken cancellationToken)
    {
        using var operation = new FsyncOperation(settings.FsyncDirectory);
        return await MeasureAndReportAsync(operation, [new BenchClient(0, null, seed: 1)], [], connections: 0, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> RunRemoteAsync(CancellationToken cancellationToken)
    {
        var targets = await ResolveTargetsAsync(cancellationToken).ConfigureAwait(false);
        if (targets is null) return ExitNoEndpoint;
        // Spreading over all members needs at least one channel per member.
        var connections = settings.LeaderOnly ? settings.Connections : Math.Max(settings.Connections, targets.Count);
        using var channels = ChannelSet.Create(targets, connections);
        if (!await WarmUpAsync(channels.Channels, cancellationToken).ConfigureAwait(false)) return ExitNoEndpoint;
        if (BenchWorkloads.IsWatchOrLease(settings.Workload))
        {
            return await new WatchLeaseRunner(settings, targets, channels, stdout, stderr).RunAsync(cancellationToken).ConfigureAwait(false);
        }
        var clients = Enumerable.Range(0, settings.Clients).Select(i => new BenchClient(i, channels.For(i), seed: 1000 + i)).ToArray();
        var keys = new KeyGenerator(settings.KeySizeBytes, settings.KeySpace, settings.SequentialKeys, settings.ValueSizeBytes);

        if (settings.Prefill && settings.Workload is BenchWorkloads.Range or BenchWorkloads.Mixed)
        {
            await PrefillAsync(clients, cancellationToken).ConfigureAwait(false);
        }
        var stats = new BenchStats();
        IBenchOperation operation = settings.Workload switch
        {
            BenchWorkloads.Put => new PutOperation(keys),
            BenchWorkloads.Range => new RangeOperation(keys, settings.Serializable),
            BenchWorkloads.Mixed => new MixedOperation(new PutOperation(keys), new RangeOperation(keys, settings.Serializable), settings.ReadRatio),
            BenchWorkloads.Txn => new TxnCasOperation(settings.CasKeys, stats),
            BenchWorkloads.Status => new StatusOperation(),
            BenchWorkloads.PeerPing => new PeerPingOperation(),
            _ => throw new InvalidOperationException($"unknown workload {settings.Workload}"),
        };
        long? casBefore = settings.Workload == BenchWorkloads.Txn ? await TryCasSumAsync(clients[0], cancellationToken).ConfigureAwait(false) : null;
        return await MeasureAndReportAsync(operation, clients, targets, connections, cancellationToken, stats, async () =>
        {
            if (casBefore is null) return null;
            var after = await TryCasSumAsync(clients[0], CancellationToken.None).ConfigureAwait(false);
            return after - casBefore;
        }).ConfigureAwait(false);
    }

    private async Task<int> MeasureAndReportAsync(IBenchOperation operation, IReadOnlyList<BenchClient> clients, IReadOnlyList<Uri> targets, int connections,
        CancellationToken cancellationToken, BenchStats? stats = null, Func<Task<long?>>? casDelta = null)
    {
        stats ??= new BenchStats();
        var driver = new LoadDriver(operation, clients, stats, settings.RequestTimeout);
        using var stopProgress = new CancellationTokenSource();
        var progress = settings.Progress ? new ProgressReporter(settings.Workload, stats, settings.Total, stderr).RunAsync(stopProgress.Token) : Task.CompletedTask;
        var duration = settings.Duration is { } d && d < BenchSettings.MaxDuration ? d : BenchSettings.MaxDuration;
        var elapsed = await driver.RunAsync(settings.Total, duration, settings.RatePerSecond, cancellationToken).ConfigureAwait(false);
        await stopProgress.CancelAsync().ConfigureAwait(false);
        await progress.ConfigureAwait(false);

        var report = new BenchReport
        {
            Settings = settings,
            Targets = targets,
            Connections = connections,
            Elapsed = elapsed,
            Stats = stats,
            CasCounterDelta = casDelta is null ? null : await casDelta().ConfigureAwait(false),
            Interrupted = cancellationToken.IsCancellationRequested,
        };
        await stdout.WriteAsync(settings.Json ? JsonReportWriter.Render(report) + Environment.NewLine : TextReportWriter.Render(report)).ConfigureAwait(false);
        if (stats.Succeeded > 0) return ExitOk;
        await stderr.WriteLineAsync(stats.Failed > 0
            ? $"bench: all {stats.Failed} requests failed ({string.Join(", ", stats.ErrorsByStatus.Select(e => $"{e.Key} {e.Value}"))})"
            : "bench: no request completed").ConfigureAwait(false);
        return ExitAllFailed;
    }

    /// <summary>The leader (leader-only) or the answering endpoints; null (after saying why) when there is nothing to target.</summary>
    private async Task<IReadOnlyList<Uri>?> ResolveTargetsAsync(CancellationToken cancellationToken)
    {
        // Peer URLs do not serve the etcd API; the warm-up ping tells whether they answer.
        if (settings.Workload == BenchWorkloads.PeerPing) return settings.Endpoints;
        var result = settings.LeaderOnly
            ? await LeaderFinder.FindAsync(settings.Endpoints, LeaderPatience, cancellationToken).ConfigureAwait(false)
            : await LeaderFinder.ProbeAsync(settings.Endpoints, TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        if (result.Answered.Count == 0)
        {
            await stderr.WriteLineAsync($"bench: no endpoint answered Maintenance.Status:\n  {string.Join("\n  ", result.Failures)}").ConfigureAwait(false);
            return null;
        }
        foreach (var failure in result.Failures) await stderr.WriteLineAsync($"bench: not using {failure}").ConfigureAwait(false);
        if (!settings.LeaderOnly) return result.Answered;
        if (result.Leader is null)
        {
            await stderr.WriteLineAsync($"bench: no leader among {string.Join(", ", settings.Endpoints.Select(e => e.Authority))} within {LeaderPatience.TotalSeconds:F0} s " +
                "(no election finished, or the leader's client URL is not in --endpoints); use --target all to send to any member").ConfigureAwait(false);
            return null;
        }
        return [result.Leader];
    }

    /// <summary>One call per channel so connections exist before the clock starts; false when none answered.</summary>
    private async Task<bool> WarmUpAsync(IReadOnlyList<GrpcChannel> channels, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        var calls = channels.Select(async (channel, i) =>
        {
            var client = new BenchClient(i, channel, seed: 0);
            var options = new CallOptions(deadline: deadline, cancellationToken: cancellationToken);
            try
            {
                if (settings.Workload == BenchWorkloads.PeerPing) await new PeerPingOperation().ExecuteAsync(client, 0, options).ConfigureAwait(false);
                else await new StatusOperation().ExecuteAsync(client, 0, options).ConfigureAwait(false);
                return null;
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                return $"{channel.Target}: {e.StatusCode} {e.Status.Detail}";
            }
        }).ToArray();
        var failures = (await Task.WhenAll(calls).ConfigureAwait(false)).Where(f => f is not null).ToArray();
        if (failures.Length < channels.Count) return true;
        await stderr.WriteLineAsync($"bench: no endpoint answered:\n  {string.Join("\n  ", failures.Distinct())}").ConfigureAwait(false);
        return false;
    }

    /// <summary>Writes every key of the key space once (not measured) so reads find values.</summary>
    private async Task PrefillAsync(IReadOnlyList<BenchClient> clients, CancellationToken cancellationToken)
    {
        var sequential = new KeyGenerator(settings.KeySizeBytes, settings.KeySpace, sequential: true, settings.ValueSizeBytes);
        var stats = new BenchStats();
        var elapsed = await new LoadDriver(new PutOperation(sequential), clients, stats, settings.RequestTimeout)
            .RunAsync(settings.KeySpace, BenchSettings.MaxDuration, ratePerSecond: null, cancellationToken).ConfigureAwait(false);
        await stderr.WriteLineAsync($"bench: prefilled {stats.Succeeded} keys in {elapsed.TotalSeconds:F1} s ({stats.Failed} errors)").ConfigureAwait(false);
    }

    /// <summary>Sum of the CAS counters, or null (reported as unknown) when it cannot be read.</summary>
    private async Task<long?> TryCasSumAsync(BenchClient client, CancellationToken cancellationToken)
    {
        try
        {
            return await TxnCasOperation.SumAsync(client.Kv, settings.CasKeys,
                new CallOptions(deadline: DateTime.UtcNow + settings.RequestTimeout, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            await stderr.WriteLineAsync($"bench: cannot read the CAS counters: {e.StatusCode} {e.Status.Detail}").ConfigureAwait(false);
            return null;
        }
    }
}
