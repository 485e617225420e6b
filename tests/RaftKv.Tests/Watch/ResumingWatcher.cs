using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace RaftKv.Tests.Watch;

/// <summary>What a watcher received: one response's events (never empty), or a progress notification at a revision.</summary>
public sealed record Received(IReadOnlyList<Mvccpb.Event> Events, long ProgressRevision, bool Fragment);

/// <summary>
/// A watcher the way etcd clients keep one: on a prefix from a revision, with prev_kv, asking for progress now and
/// then, and when its stream breaks (a member killed, paused or partitioned) resuming on the next member from the
/// revision after the last event it received. Records everything it receives, in order, for the guarantee checks.
/// <paramref name="urls"/> is read at every resume (members come and go); <paramref name="open"/> makes the channel
/// (default <see cref="GrpcChannel.ForAddress(string)"/>; a host network's clients differ).
/// </summary>
public sealed class ResumingWatcher(string name, Func<IReadOnlyList<string>> urls, int firstUrl, ByteString prefix, ByteString prefixEnd, long startRevision,
    Func<string, GrpcChannel>? open = null)
{
    public ResumingWatcher(string name, IReadOnlyList<string> urls, int firstUrl, ByteString prefix, ByteString prefixEnd, long startRevision)
        : this(name, () => urls, firstUrl, prefix, prefixEnd, startRevision)
    {
    }

    private readonly List<Received> _received = [];
    private readonly Lock _gate = new();
    private long _nextRevision = startRevision;

    public string Name => name;

    public int Resumes { get; private set; }

    /// <summary>Revision after the last event received.</summary>
    public long NextRevision
    {
        get
        {
            lock (_gate) return _nextRevision;
        }
    }

    public IReadOnlyList<Received> Received
    {
        get
        {
            lock (_gate) return [.. _received];
        }
    }

    /// <summary>Watches until <paramref name="stop"/> is cancelled, resuming after every break.</summary>
    public async Task RunAsync(TimeSpan progressEvery, CancellationToken stop)
    {
        var url = firstUrl;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var now = urls();
                if (now.Count > 0) await WatchOnceAsync(now[url % now.Count], progressEvery, stop);
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or HttpRequestException || (e is OperationCanceledException && !stop.IsCancellationRequested))
            {
                // broken: resume elsewhere
            }
            catch (OperationCanceledException)
            {
                return;
            }
            url++;
            Resumes++;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), stop); // a client's reconnect backoff
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task WatchOnceAsync(string url, TimeSpan progressEvery, CancellationToken stop)
    {
        using var channel = (open ?? GrpcChannel.ForAddress)(url);
        using var broken = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var call = new Etcdserverpb.Watch.WatchClient(channel).Watch(cancellationToken: broken.Token);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest { Key = prefix, RangeEnd = prefixEnd, StartRevision = NextRevision, PrevKv = true },
        }, broken.Token);
        var progress = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(progressEvery);
            while (await timer.WaitForNextTickAsync(broken.Token))
                await call.RequestStream.WriteAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() }, broken.Token);
        }, broken.Token);
        try
        {
            while (await call.ResponseStream.MoveNext(broken.Token))
            {
                var r = call.ResponseStream.Current;
                if (r.Canceled) throw new InvalidOperationException($"{name}: watch cancelled: {r.CancelReason} (compact revision {r.CompactRevision})");
                if (r.Created) continue;
                lock (_gate)
                {
                    if (r.Events.Count > 0)
                    {
                        _received.Add(new Received([.. r.Events], 0, r.Fragment));
                        if (!r.Fragment) _nextRevision = r.Events[^1].Kv.ModRevision + 1;
                    }
                    else if (r.WatchId == -1)
                    {
                        _received.Add(new Received([], r.Header.Revision, false));
                    }
                }
            }
        }
        finally
        {
            await broken.CancelAsync();
            await progress.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
