using RaftKv.Robustness.Checking;
using RaftKv.Robustness.Logs;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests.Robustness;

/// <summary>
/// The whole chain of issue 16's lost-write resolution on a real cluster: puts through a member paused past their
/// 3 s deadline lose their answers; after a graceful stop, <c>raftkv wal dump</c> of every member tells which of them
/// were committed (Raft paper section 5.4: a committed entry is in every later leader's log, and so in a majority of
/// the members' logs), the rest are dropped, and the history stays linearizable with them resolved.
/// </summary>
public sealed class LostWriteResolutionTests(ITestOutputHelper output)
{
    // Twice the traffic's 3 s call deadline: each client stuck on the paused member loses about two calls.
    private const int PauseSeconds = 6;

    [Fact]
    public async Task WritesLostInAPause_AreResolvedFromTheLogs_AndTheHistoryStaysLinearizable()
    {
        await using var cluster = ProcessCluster.Create(3);
        foreach (var m in cluster.Members)
        {
            m.ExtraArgs = [.. m.ExtraArgs.Select(a => a == "debug" ? "info" : a)];
            m.Start();
        }
        var leader = await cluster.WaitForLeaderAsync();
        var paused = cluster.Members.First(m => m != leader);

        using var stop = new CancellationTokenSource();
        IReadOnlyList<string> Running() => [.. cluster.Members.Where(m => m.IsRunning).Select(m => m.ClientUrl)];
        var traffic = KvTraffic.RunAsync(Running, ["k0", "k1", "k2"], clients: 8, maxOpsPerClient: 400, TrafficMix.GetPut, stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var pausedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        paused.Pause(); // its clients' calls outlive their deadline: unknown outcomes, some forwarded and committed, some never
        await Task.Delay(TimeSpan.FromSeconds(PauseSeconds));
        paused.Resume();
        await Task.Delay(TimeSpan.FromSeconds(2));
        stop.Cancel();
        var history = await traffic;

        // Every member has caught up and applied everything before it stops, so the logs agree on the commit index.
        await Poll.UntilAsync(async () =>
        {
            var statuses = await Task.WhenAll(cluster.Members.Select(m => m.TryStatusAsync()));
            return statuses.All(s => s is not null) && statuses.Select(s => s!.Applied).Distinct().Count() == 1 && statuses.All(s => s!.Applied == s.LastIndex);
        }, ProcessCluster.ElectionBound, "every member applied the whole log", cluster.Diagnostics);
        foreach (var m in cluster.Members) Signals.Send(m.Pid!.Value, Signals.Sigterm);
        foreach (var m in cluster.Members) Assert.NotNull(await m.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var logs = await WalDumps.ReadAllAsync(cluster.Members);
        var resolved = IndeterminateWrites.Resolve(history, logs);
        var report = KvHistoryChecker.Check(resolved.Operations);
        output.WriteLine($"{history.Count} operations, {history.Count(o => o.CallTime > pausedAt && o.CallTime < pausedAt + PauseSeconds * System.Diagnostics.Stopwatch.Frequency)} called in the pause; {resolved.Describe()}");
        foreach (var r in resolved.Resolutions) output.WriteLine($"  {r.Fate}: {r.Operation} ({r.Reason})");
        output.WriteLine(report.Describe());

        Assert.True(resolved.Resolutions.Count > 0, "no write lost its answer: the pause did not hit any call");
        Assert.Equal(0, resolved.Unresolved); // puts only, and each member's log is complete from index 1
        Assert.Empty(resolved.Problems);
        Assert.True(report.Passed, report.Describe());
        Assert.All(logs, l => Assert.Equal(logs[0].CommitIndex, l.CommitIndex));
        // Every acknowledged put is committed in every member's log.
        foreach (var put in history.Where(o => o.IsCompleted && o.Input.Kind == RaftKv.Robustness.History.KvOperationKind.Put))
            Assert.All(logs, l => Assert.True(l.CommittedPutValues.GetValueOrDefault(put.Input.Key)?.Contains(put.Input.Value!) == true, $"{l.Source} lacks {put}"));
    }
}
