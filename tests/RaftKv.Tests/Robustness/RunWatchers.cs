using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Robustness.Checking;
using RaftKv.Robustness.History;
using RaftKv.Tests.Infrastructure;
using RaftKv.Tests.Watch;

namespace RaftKv.Tests.Robustness;

/// <summary>
/// The watch side of a robustness run: resuming watchers (prev_kv, progress requests every 150 ms) on the traffic's
/// keys, one starting on each of the first members, from the revision after the run's start. Compaction must stay
/// below <see cref="Floor"/> so a resuming watcher never meets it; at the end <see cref="CheckAsync"/> waits until
/// every watcher has seen the final revision and holds them against each other and the clients
/// (<see cref="WatchCrossCheck"/>).
/// </summary>
internal sealed class RunWatchers : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ResumingWatcher[] _watchers;
    private readonly Task[] _running;
    private readonly ByteString _prefix;
    private readonly long _start;

    private RunWatchers(ResumingWatcher[] watchers, ByteString prefix, long start)
    {
        _watchers = watchers;
        _prefix = prefix;
        _start = start;
        _running = [.. watchers.Select(w => Task.Run(() => w.RunAsync(TimeSpan.FromMilliseconds(150), _stop.Token)))];
    }

    /// <summary>The lowest revision a watcher resumes from: compact below it, never at or above.</summary>
    public long Floor => _watchers.Min(w => w.NextRevision);

    /// <summary>Starts <paramref name="count"/> watchers on <paramref name="prefix"/> from the revision after the store's current one.</summary>
    public static async Task<RunWatchers> StartAsync(ProcessCluster cluster, int count, string prefix)
    {
        var key = ByteString.CopyFromUtf8(prefix);
        var end = RaftKv.Kv.KeyRanges.PrefixEnd(key.Span);
        var head = await Poll.UntilAsync(async () =>
        {
            using var channel = cluster.Members[0].OpenChannel();
            try
            {
                return (long?)(await new KV.KVClient(channel).RangeAsync(new RangeRequest { Key = key, RangeEnd = end, CountOnly = true }, deadline: DateTime.UtcNow.AddSeconds(3))).Header.Revision;
            }
            catch (Grpc.Core.RpcException)
            {
                return null;
            }
        }, ProcessCluster.ElectionBound, "the revision watchers start after", cluster.Diagnostics);
        IReadOnlyList<string> Running() => [.. cluster.Members.Where(m => m.IsRunning).Select(m => m.ClientUrl)];
        var watchers = Enumerable.Range(0, count)
            .Select(i => new ResumingWatcher($"watcher{i}", Running, i, key, end, head!.Value + 1, cluster.OpenChannel))
            .ToArray();
        return new RunWatchers(watchers, key, head!.Value + 1);
    }

    /// <summary>
    /// Waits until every watcher has seen <paramref name="revision"/> (an event or a progress notification at or
    /// after it), stops them and returns the watch check for the report.
    /// </summary>
    public async Task<RunCheck> CheckAsync(long revision, IReadOnlyList<KvOperation> operations, Func<string> diagnostics)
    {
        await Poll.UntilAsync(() => Task.FromResult(_watchers.All(w => Seen(w) >= revision)), TimeSpan.FromSeconds(60),
            $"every watcher saw revision {revision}", () => string.Join(", ", _watchers.Select(w => $"{w.Name} at {Seen(w)}")) + "\n" + diagnostics());
        await _stop.CancelAsync();
        await Task.WhenAll(_running);
        var problems = WatchCrossCheck.Check([.. _watchers.Select(w => (w.Name, w.Received))], operations, _prefix, _start);
        var events = _watchers.Sum(w => w.Received.Sum(r => r.Events.Count));
        return new RunCheck("watch guarantees", problems,
            $"{_watchers.Length} watchers, {events} events, {_watchers.Sum(w => w.Resumes)} resumes; each against the union of all, and against the clients");
    }

    private static long Seen(ResumingWatcher watcher) =>
        watcher.Received.Select(r => r.Events.Count > 0 ? r.Events[^1].Kv.ModRevision : r.ProgressRevision).DefaultIfEmpty(0).Max();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
