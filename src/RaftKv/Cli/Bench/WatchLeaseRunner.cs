using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;

namespace RaftKv.Cli.Bench;

/// <summary>
/// The watch and lease workloads of <c>raftkv bench</c> (issue 13's figures), each a measurement of its own shape
/// rather than a stream of same-sized requests: <c>watch</c> (events per second delivered to many watchers under a
/// steady put load), <c>watch-idle</c> (a member's resident memory per idle watcher), <c>lease-expire</c> (time until
/// the keys of many leases are gone once their TTL ends) and <c>lease-keepalive</c> (keep-alives per second). They
/// speak the etcd v3 API only, so they run unchanged against etcd. Every wait is bounded in time.
/// </summary>
public sealed class WatchLeaseRunner(BenchSettings settings, IReadOnlyList<Uri> targets, ChannelSet channels, TextWriter stdout, TextWriter stderr)
{
    /// <summary>watch: how long events may still arrive after the last put.</summary>
    public static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(15);

    /// <summary>Bound on creating the watchers, granting the leases and other set-up steps.</summary>
    public static readonly TimeSpan SetupBound = TimeSpan.FromMinutes(3);

    /// <summary>Default of --duration for these workloads (put phase, keep-alive phase, idle hold).</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(10);

    /// <summary>watch-idle: how long the watchers stay idle before the last memory sample, by default.</summary>
    public static readonly TimeSpan DefaultIdleHold = TimeSpan.FromSeconds(3);

    // Keys of one run live under a prefix of their own: watchers see no other run's writes, and leftovers do not count.
    private readonly string _runTag = Convert.ToHexString(BitConverter.GetBytes(Random.Shared.NextInt64())).ToLowerInvariant()[..8];

    /// <summary>Runs the workload; returns the process exit code.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var report = settings.Workload switch
            {
                BenchWorkloads.Watch => await WatchAsync(cancellationToken).ConfigureAwait(false),
                BenchWorkloads.WatchIdle => await WatchIdleAsync(cancellationToken).ConfigureAwait(false),
                BenchWorkloads.LeaseExpire => await LeaseExpireAsync(cancellationToken).ConfigureAwait(false),
                BenchWorkloads.LeaseKeepAlive => await LeaseKeepAliveAsync(cancellationToken).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"not a watch or lease workload: {settings.Workload}"),
            };
            if (report is null) return BenchRunner.ExitAllFailed;
            report.Add("interrupted", cancellationToken.IsCancellationRequested);
            await stdout.WriteAsync(report.Render()).ConfigureAwait(false);
            return BenchRunner.ExitOk;
        }
        catch (Exception e) when (e is RpcException or TimeoutException or IOException)
        {
            await stderr.WriteLineAsync($"bench: {settings.Workload} failed: {e.Message}").ConfigureAwait(false);
            return BenchRunner.ExitAllFailed;
        }
    }

    private CallOptions Call(CancellationToken cancellationToken) =>
        new(deadline: DateTime.UtcNow + settings.RequestTimeout, cancellationToken: cancellationToken);

    private static ByteString Bytes(string text) => ByteString.CopyFromUtf8(text);

    /// <summary>The range_end that makes [prefix, end) every key starting with <paramref name="prefix"/> (ASCII prefixes).</summary>
    private static ByteString PrefixEnd(string prefix) => Bytes(prefix[..^1] + (char)(prefix[^1] + 1));

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;

    private static long Micros(long ticks) => (long)(ticks * 1_000_000.0 / Stopwatch.Frequency);

    private Task Say(string line) => settings.Progress ? stderr.WriteLineAsync($"bench: {line}") : Task.CompletedTask;

    /// <summary>Opens the watch streams and creates their watchers (W spread over S streams); bounded by <see cref="SetupBound"/>.</summary>
    private async Task<List<WatchStream>> OpenWatchersAsync(Func<int, WatchCreateRequest> create, LatencyHistogram? eventLatency, CancellationToken cancellationToken)
    {
        var streams = new List<WatchStream>();
        var perStream = settings.Watchers / settings.Streams;
        var extra = settings.Watchers % settings.Streams;
        var next = 0;
        for (var s = 0; s < settings.Streams; s++)
        {
            var count = perStream + (s < extra ? 1 : 0);
            var stream = new WatchStream(new Watch.WatchClient(channels.For(s)), count, eventLatency, cancellationToken);
            streams.Add(stream);
            for (var i = 0; i < count; i++) await stream.WriteAsync(new WatchRequest { CreateRequest = create(next++) }).ConfigureAwait(false);
        }
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(SetupBound);
        try
        {
            await Task.WhenAll(streams.Select(s => s.AllCreated.WaitAsync(bound.Token))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var created = streams.Sum(s => s.Created);
            foreach (var s in streams) await s.DisposeAsync().ConfigureAwait(false);
            throw new TimeoutException($"only {created} of {settings.Watchers} watchers were created within {SetupBound.TotalSeconds:F0} s");
        }
        return streams;
    }

    // --- watch ---------------------------------------------------------------------------------------------------

    private async Task<FigureReport?> WatchAsync(CancellationToken cancellationToken)
    {
        var prefix = $"bench-watch/{_runTag}/";
        var latency = new LatencyHistogram();
        using var runStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var setupStart = Stopwatch.GetTimestamp();
        var streams = await OpenWatchersAsync(_ => new WatchCreateRequest { Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix) }, latency, runStop.Token).ConfigureAwait(false);
        var createS = Seconds(Stopwatch.GetTimestamp() - setupStart);
        await Say($"{settings.Watchers} watchers on {settings.Streams} streams created in {createS:F2} s; putting at {settings.RatePerSecond}/s").ConfigureAwait(false);
        try
        {
            // The put load has its own connection: the watch streams' connections carry only events.
            using var putChannels = ChannelSet.Create(targets, 1);
            var putClients = Enumerable.Range(0, settings.Clients).Select(i => new BenchClient(i, putChannels.For(i), seed: 2000 + i)).ToArray();
            var putStats = new BenchStats();
            var operation = new TimestampedPutOperation(prefix, settings.KeySpace, Math.Max(8, settings.ValueSizeBytes));
            var duration = settings.Duration ?? DefaultDuration;
            var start = Stopwatch.GetTimestamp();
            foreach (var s in streams) s.StartCounting(start);
            var putElapsed = await new LoadDriver(operation, putClients, putStats, settings.RequestTimeout)
                .RunAsync(settings.Total, duration, settings.RatePerSecond, cancellationToken).ConfigureAwait(false);
            var putEnd = Stopwatch.GetTimestamp();
            var inWindow = streams.Sum(s => s.Events);
            var expected = putStats.Succeeded * settings.Watchers;
            // Drain: the events of the last puts (and of any backlog) may still be on their way.
            var drainUntil = putEnd + (long)(DrainBound.TotalSeconds * Stopwatch.Frequency);
            while (streams.Sum(s => s.Events) < expected && Stopwatch.GetTimestamp() < drainUntil && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
            }
            var total = streams.Sum(s => s.Events);
            var last = streams.Max(s => s.LastEventTicks);
            var window = Seconds(putEnd - start);
            var toLast = last > start ? Seconds(last - start) : window;
            var report = new FigureReport(settings, targets)
                .Add("watchers", settings.Watchers).Add("streams", settings.Streams).Add("conns", settings.Connections)
                .Add("watchersCreated", streams.Sum(s => s.Created)).Add("watchersCanceled", streams.Sum(s => s.Canceled))
                .Add("createS", createS)
                .Add("putRate", settings.RatePerSecond).Add("putsOk", putStats.Succeeded).Add("putsFailed", putStats.Failed)
                .Add("putS", putElapsed.TotalSeconds)
                .AddLatency("putLatencyMs", putStats.Latency)
                .Add("offeredEventsPerS", window > 0 ? expected / window : 0)
                .Add("eventsExpected", expected).Add("eventsReceived", total)
                .Add("eventsPerS", toLast > 0 ? total / toLast : 0)
                .Add("eventsInPutWindow", inWindow).Add("eventsPerSInPutWindow", window > 0 ? inWindow / window : 0)
                .Add("complete", total >= expected)
                .Add("drainS", last > putEnd ? Seconds(last - putEnd) : 0.0)
                .Add("responses", streams.Sum(s => s.Responses))
                .AddLatency("deliveryLatencyMs", latency);
            await DeleteRangeQuietlyAsync(prefix).ConfigureAwait(false);
            return report;
        }
        finally
        {
            await runStop.CancelAsync().ConfigureAwait(false);
            foreach (var s in streams) await s.DisposeAsync().ConfigureAwait(false);
        }
    }

    // --- watch-idle ----------------------------------------------------------------------------------------------

    /// <summary>watch-idle: the watchers are created in this many equal batches, resident memory sampled after each.</summary>
    public const int IdleSteps = 5;

    private async Task<FigureReport?> WatchIdleAsync(CancellationToken cancellationToken)
    {
        var pid = settings.RssPid!.Value;
        if (ProcessMemory.Read(pid) is not { } before)
        {
            await stderr.WriteLineAsync($"bench: cannot read /proc/{pid}/status (is --rss-pid the serving member's pid, on this machine?)").ConfigureAwait(false);
            return null;
        }
        var prefix = $"bench-idle/{_runTag}/";
        var hold = settings.Duration ?? DefaultIdleHold;
        var settle = hold / IdleSteps;
        using var runStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Watcher i goes to stream i mod S: every batch grows every stream alike.
        var streams = Enumerable.Range(0, settings.Streams)
            .Select(s => new WatchStream(new Watch.WatchClient(channels.For(s)), settings.Watchers / settings.Streams + (s < settings.Watchers % settings.Streams ? 1 : 0), null, runStop.Token))
            .ToList();
        try
        {
            // Samples (watchers, RSS): a fitted slope is less sensitive than one difference to memory the process
            // reuses or returns to the OS meanwhile (a GC heap that shrinks, Go's scavenger).
            var samples = new List<(int Watchers, ProcessMemory.Sample Memory)> { (0, before) };
            var peak = before;
            var createTicks = 0L;
            var setupUntil = Stopwatch.GetTimestamp() + (long)(SetupBound.TotalSeconds * Stopwatch.Frequency);
            for (var step = 1; step <= IdleSteps && !cancellationToken.IsCancellationRequested; step++)
            {
                var from = (int)((long)settings.Watchers * (step - 1) / IdleSteps);
                var to = (int)((long)settings.Watchers * step / IdleSteps);
                var t0 = Stopwatch.GetTimestamp();
                for (var i = from; i < to; i++)
                {
                    var key = Bytes(prefix + i.ToString("D7", CultureInfo.InvariantCulture));
                    await streams[i % settings.Streams].WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = key } }).ConfigureAwait(false);
                }
                while (streams.Sum(s => s.Created) < to && Stopwatch.GetTimestamp() < setupUntil && !cancellationToken.IsCancellationRequested)
                {
                    await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
                }
                createTicks += Stopwatch.GetTimestamp() - t0;
                if (streams.Sum(s => s.Created) < to) throw new TimeoutException($"only {streams.Sum(s => s.Created)} of {to} watchers were created within {SetupBound.TotalSeconds:F0} s");
                var settleUntil = Stopwatch.GetTimestamp() + (long)(settle.TotalSeconds * Stopwatch.Frequency);
                var sample = before;
                while (!cancellationToken.IsCancellationRequested)
                {
                    sample = ProcessMemory.Read(pid) ?? sample;
                    if (sample.RssBytes > peak.RssBytes) peak = sample;
                    if (Stopwatch.GetTimestamp() >= settleUntil) break;
                    await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                }
                samples.Add((to, sample));
            }
            var createS = Seconds(createTicks);
            var after = samples[^1].Memory;
            var delta = after.RssBytes - before.RssBytes;
            var deltaAnon = after.RssAnonBytes - before.RssAnonBytes;
            const double MiB = 1024 * 1024;
            var slope = Slope(samples.Select(x => ((double)x.Watchers, (double)x.Memory.RssBytes)).ToArray());
            await Say($"{settings.Watchers} idle watchers on {settings.Streams} streams created in {createS:F2} s; RSS {before.RssBytes / MiB:F1} -> {after.RssBytes / MiB:F1} MiB").ConfigureAwait(false);
            return new FigureReport(settings, targets)
                .Add("pid", pid).Add("watchers", settings.Watchers).Add("streams", settings.Streams).Add("conns", settings.Connections)
                .Add("watchersCreated", streams.Sum(s => s.Created)).Add("watchersCanceled", streams.Sum(s => s.Canceled))
                .Add("createS", createS).Add("createsPerS", createS > 0 ? settings.Watchers / createS : 0)
                .Add("holdS", hold.TotalSeconds)
                .Add("rssBeforeMiB", before.RssBytes / MiB).Add("rssAfterMiB", after.RssBytes / MiB).Add("rssPeakMiB", peak.RssBytes / MiB)
                .Add("rssAnonBeforeMiB", before.RssAnonBytes / MiB).Add("rssAnonAfterMiB", after.RssAnonBytes / MiB)
                .Add("rssStepsMiB", string.Join(" ", samples.Select(x => (x.Memory.RssBytes / MiB).ToString("F1", CultureInfo.InvariantCulture))))
                .Add("rssDeltaMiB", delta / MiB).Add("rssAnonDeltaMiB", deltaAnon / MiB)
                .Add("bytesPerWatcher", (double)delta / settings.Watchers)
                .Add("rssMiBPer10kWatchers", delta / MiB * 10_000 / settings.Watchers)
                .Add("rssSlopeMiBPer10kWatchers", slope * 10_000 / MiB)
                .Add("eventsReceived", streams.Sum(s => s.Events));
        }
        finally
        {
            await runStop.CancelAsync().ConfigureAwait(false);
            foreach (var s in streams) await s.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Least-squares slope of y over x.</summary>
    private static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        var mx = points.Average(p => p.X);
        var my = points.Average(p => p.Y);
        var sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        return sxx == 0 ? 0 : points.Sum(p => (p.X - mx) * (p.Y - my)) / sxx;
    }

    // --- leases --------------------------------------------------------------------------------------------------

    /// <summary>
    /// Grants --leases leases (--clients workers over the channels), each with one key under
    /// <paramref name="keyPrefix"/> when given; returns the ids and the TTL the server granted.
    /// </summary>
    private async Task<(long[] Ids, long GrantedTtl, long Failed)> GrantLeasesAsync(string? keyPrefix, CancellationToken cancellationToken)
    {
        var ids = new long[settings.Leases];
        long next = -1, granted = 0, failed = 0;
        var until = Stopwatch.GetTimestamp() + (long)(SetupBound.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, Math.Min(settings.Clients, settings.Leases)).Select(async w =>
        {
            await Task.Yield();
            var channel = channels.For(w);
            var lease = new Lease.LeaseClient(channel);
            var kv = new KV.KVClient(channel);
            for (var i = Interlocked.Increment(ref next); i < ids.Length; i = Interlocked.Increment(ref next))
            {
                if (cancellationToken.IsCancellationRequested || Stopwatch.GetTimestamp() > until) return;
                try
                {
                    var response = await lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = settings.LeaseTtlSeconds }, Call(cancellationToken)).ConfigureAwait(false);
                    ids[i] = response.ID;
                    Interlocked.Exchange(ref granted, response.TTL);
                    if (keyPrefix is not null)
                    {
                        var key = Bytes(keyPrefix + i.ToString("D7", CultureInfo.InvariantCulture));
                        await kv.PutAsync(new PutRequest { Key = key, Value = key, Lease = response.ID }, Call(cancellationToken)).ConfigureAwait(false);
                    }
                }
                catch (RpcException) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
        return (ids.Where(id => id != 0).ToArray(), Interlocked.Read(ref granted), failed);
    }

    private async Task RevokeQuietlyAsync(IReadOnlyList<long> ids)
    {
        // Best effort, bounded: the servers would expire them anyway.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        long next = -1;
        var workers = Enumerable.Range(0, Math.Min(16, Math.Max(1, ids.Count))).Select(async w =>
        {
            await Task.Yield();
            var lease = new Lease.LeaseClient(channels.For(w));
            for (var i = Interlocked.Increment(ref next); i < ids.Count && !bound.IsCancellationRequested; i = Interlocked.Increment(ref next))
            {
                try { await lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = ids[(int)i] }, Call(bound.Token)).ConfigureAwait(false); }
                catch (RpcException) { }
            }
        }).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    private async Task DeleteRangeQuietlyAsync(string prefix)
    {
        try
        {
            await new KV.KVClient(channels.For(0)).DeleteRangeAsync(new DeleteRangeRequest { Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix) }, Call(CancellationToken.None)).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // leftovers under a run's own prefix harm nothing
        }
    }

    private async Task<FigureReport?> LeaseKeepAliveAsync(CancellationToken cancellationToken)
    {
        var setupStart = Stopwatch.GetTimestamp();
        var (ids, grantedTtl, grantFailed) = await GrantLeasesAsync(null, cancellationToken).ConfigureAwait(false);
        var grantS = Seconds(Stopwatch.GetTimestamp() - setupStart);
        if (ids.Length == 0)
        {
            await stderr.WriteLineAsync($"bench: no lease was granted ({grantFailed} failures)").ConfigureAwait(false);
            return null;
        }
        await Say($"{ids.Length} leases granted in {grantS:F2} s; keep-alives on {settings.Streams} streams").ConfigureAwait(false);
        try
        {
            var latency = new LatencyHistogram();
            var duration = settings.Duration ?? DefaultDuration;
            var streams = Enumerable.Range(0, settings.Streams)
                .Select(s => new KeepAliveStream(new Lease.LeaseClient(channels.For(s)), ids.Where((_, i) => i % settings.Streams == s).ToArray(), settings.InFlight, latency))
                .ToArray();
            var start = Stopwatch.GetTimestamp();
            var stopAt = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            await Task.WhenAll(streams.Select(s => s.RunAsync(stopAt, perLeaseOnce: false, cancellationToken))).ConfigureAwait(false);
            var elapsed = Seconds(Stopwatch.GetTimestamp() - start);
            var ok = streams.Sum(s => s.Answered);
            return new FigureReport(settings, targets)
                .Add("leases", ids.Length).Add("grantFailed", grantFailed).Add("grantedTtlS", grantedTtl).Add("grantS", grantS)
                .Add("streams", settings.Streams).Add("conns", settings.Connections).Add("inFlightPerStream", settings.InFlight)
                .Add("elapsedS", elapsed).Add("keepAlives", ok).Add("keepAlivesPerS", elapsed > 0 ? ok / elapsed : 0)
                .Add("notFound", streams.Sum(s => s.NotFound)).Add("outOfOrder", streams.Sum(s => s.OutOfOrder))
                .Add("streamErrors", string.Join("; ", streams.Select(s => s.Error).Where(e => e is not null).Distinct()))
                .AddLatency("keepAliveLatencyMs", latency);
        }
        finally
        {
            await RevokeQuietlyAsync(ids).ConfigureAwait(false);
        }
    }

    private async Task<FigureReport?> LeaseExpireAsync(CancellationToken cancellationToken)
    {
        var prefix = $"bench-lease/{_runTag}/";
        var kv = new KV.KVClient(channels.For(0));
        async Task<long> CountAsync() => (await kv.RangeAsync(new RangeRequest
        {
            Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix), CountOnly = true, Serializable = true,
        }, Call(cancellationToken)).ConfigureAwait(false)).Count;

        var setupStart = Stopwatch.GetTimestamp();
        var (ids, grantedTtl, grantFailed) = await GrantLeasesAsync(prefix, cancellationToken).ConfigureAwait(false);
        var setupS = Seconds(Stopwatch.GetTimestamp() - setupStart);
        if (ids.Length == 0)
        {
            await stderr.WriteLineAsync($"bench: no lease was granted ({grantFailed} failures)").ConfigureAwait(false);
            return null;
        }
        // One keep-alive per lease, pipelined, right after the set-up: every TTL restarts within a short window, so
        // "the TTL's end" is a narrow interval instead of the set-up's whole length.
        var refreshStart = Stopwatch.GetTimestamp();
        var refreshStreams = Enumerable.Range(0, Math.Min(10, ids.Length))
            .Select(s => new KeepAliveStream(new Lease.LeaseClient(channels.For(s)), ids.Where((_, i) => i % Math.Min(10, ids.Length) == s).ToArray(), 256, new LatencyHistogram()))
            .ToArray();
        var refreshStop = refreshStart + (long)(SetupBound.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(refreshStreams.Select(s => s.RunAsync(refreshStop, perLeaseOnce: true, cancellationToken))).ConfigureAwait(false);
        var refreshEnd = Stopwatch.GetTimestamp();
        var expiredInSetup = refreshStreams.Sum(s => s.NotFound);
        var initial = await CountAsync().ConfigureAwait(false);
        var ttlTicks = (long)(grantedTtl * Stopwatch.Frequency);
        var ttlEndFirst = refreshStart + ttlTicks;
        var ttlEndLast = refreshEnd + ttlTicks;
        await Say($"{ids.Length} leases (TTL {grantedTtl} s) with one key each in {setupS:F2} s, refreshed in {Seconds(refreshEnd - refreshStart):F2} s; {initial} keys; waiting for expiry").ConfigureAwait(false);

        // Poll the key count every 50 ms until it reaches 0, bounded: the TTL, then at least 60 s (or 10 ms per lease).
        var bound = ttlEndLast + (long)(Math.Max(60, ids.Length / 100.0) * Stopwatch.Frequency);
        long firstGone = 0, allGone = 0, count = initial, polls = 0, pollErrors = 0;
        while (Stopwatch.GetTimestamp() < bound && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                count = await CountAsync().ConfigureAwait(false);
                polls++;
            }
            catch (RpcException) when (!cancellationToken.IsCancellationRequested)
            {
                pollErrors++;
            }
            var now = Stopwatch.GetTimestamp();
            if (firstGone == 0 && count < initial) firstGone = now;
            if (count == 0) { allGone = now; break; }
            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }
        var report = new FigureReport(settings, targets)
            .Add("leases", ids.Length).Add("grantFailed", grantFailed).Add("ttlRequestedS", settings.LeaseTtlSeconds).Add("grantedTtlS", grantedTtl)
            .Add("setupS", setupS).Add("refreshS", Seconds(refreshEnd - refreshStart))
            .Add("expiredBeforeRefresh", expiredInSetup).Add("setupOverlapsExpiry", setupS + Seconds(refreshEnd - refreshStart) >= grantedTtl)
            .Add("keysAtStart", initial).Add("keysLeft", count)
            .Add("firstGoneAfterTtlS", firstGone == 0 ? null : Seconds(firstGone - ttlEndFirst))
            .Add("allGoneAfterTtlS", allGone == 0 ? null : Seconds(allGone - ttlEndLast))
            .Add("allGoneAfterFirstTtlEndS", allGone == 0 ? null : Seconds(allGone - ttlEndFirst))
            .Add("expiredPerS", allGone == 0 || firstGone == 0 || allGone == firstGone ? null : initial / Seconds(allGone - firstGone))
            .Add("polls", polls).Add("pollErrors", pollErrors).Add("complete", allGone != 0);
        if (allGone == 0) await RevokeQuietlyAsync(ids).ConfigureAwait(false);
        return report;
    }

    // --- streams -------------------------------------------------------------------------------------------------

    /// <summary>One Watch stream: its writer (create requests) and a reader counting created watchers and events.</summary>
    private sealed class WatchStream : IAsyncDisposable
    {
        private readonly AsyncDuplexStreamingCall<WatchRequest, WatchResponse> _call;
        private readonly int _expected;
        private readonly LatencyHistogram? _latency;
        private readonly Task _reader;
        private readonly TaskCompletionSource _allCreated = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _events;
        private long _countFrom = long.MaxValue;
        private int _created;
        private int _canceled;
        private long _responses;
        private long _lastEvent;

        public WatchStream(Watch.WatchClient client, int expected, LatencyHistogram? latency, CancellationToken cancellationToken)
        {
            _call = client.Watch(cancellationToken: cancellationToken);
            _expected = expected;
            _latency = latency;
            if (expected == 0) _allCreated.TrySetResult();
            _reader = ReadAsync(cancellationToken);
        }

        public Task AllCreated => _allCreated.Task;
        public int Created => Volatile.Read(ref _created);
        public int Canceled => Volatile.Read(ref _canceled);
        public long Events => Volatile.Read(ref _events);
        public long Responses => Volatile.Read(ref _responses);
        public long LastEventTicks => Volatile.Read(ref _lastEvent);

        /// <summary>Events before <paramref name="from"/> (there should be none) are not counted.</summary>
        public void StartCounting(long from) => Volatile.Write(ref _countFrom, from);

        public Task WriteAsync(WatchRequest request) => _call.RequestStream.WriteAsync(request);

        private async Task ReadAsync(CancellationToken cancellationToken)
        {
            await Task.Yield();
            try
            {
                while (await _call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    var response = _call.ResponseStream.Current;
                    _responses++;
                    if (response.Created && Interlocked.Increment(ref _created) == _expected) _allCreated.TrySetResult();
                    if (response.Canceled) Interlocked.Increment(ref _canceled);
                    var n = response.Events.Count;
                    if (n == 0) continue;
                    var now = Stopwatch.GetTimestamp();
                    if (now < Volatile.Read(ref _countFrom)) continue;
                    if (_latency is not null)
                    {
                        foreach (var e in response.Events)
                        {
                            // The put wrote its send time (Stopwatch ticks of this process) into the value's first 8 bytes.
                            if (e.Kv?.Value is { Length: >= 8 } value) _latency.Record(Micros(now - BinaryPrimitives.ReadInt64LittleEndian(value.Span)));
                        }
                    }
                    Interlocked.Add(ref _events, n);
                    Volatile.Write(ref _lastEvent, now);
                }
            }
            catch (RpcException) { }
            catch (OperationCanceledException) { }
            catch (IOException) { }
            finally
            {
                _allCreated.TrySetResult(); // a broken stream must not leave set-up waiting; Created tells the rest
            }
        }

        public async ValueTask DisposeAsync()
        {
            try { await _call.RequestStream.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); }
            catch (Exception e) when (e is RpcException or InvalidOperationException or TimeoutException or OperationCanceledException or IOException) { }
            _call.Dispose();
            try { await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }
    }

    /// <summary>
    /// One LeaseKeepAlive stream renewing its leases round-robin, at most <c>inFlight</c> requests outstanding; a
    /// response is matched with the oldest outstanding request (etcd answers a stream's requests in order).
    /// </summary>
    private sealed class KeepAliveStream(Lease.LeaseClient client, long[] ids, int inFlight, LatencyHistogram latency)
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(long Id, long SentAt)> _outstanding = new();
        private readonly SemaphoreSlim _window = new(inFlight, inFlight);
        private long _answered;
        private long _notFound;
        private long _outOfOrder;

        public long Answered => Volatile.Read(ref _answered);
        public long NotFound => Volatile.Read(ref _notFound);
        public long OutOfOrder => Volatile.Read(ref _outOfOrder);
        public string? Error { get; private set; }

        /// <summary>Renews until <paramref name="stopAt"/> (Stopwatch ticks), or once per lease when <paramref name="perLeaseOnce"/>.</summary>
        public async Task RunAsync(long stopAt, bool perLeaseOnce, CancellationToken cancellationToken)
        {
            if (ids.Length == 0) return;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var call = client.LeaseKeepAlive(cancellationToken: stop.Token);
            long sent = 0;
            var reader = ReadAsync(call, perLeaseOnce ? ids.Length : long.MaxValue, stop.Token);
            try
            {
                while (!stop.IsCancellationRequested && Stopwatch.GetTimestamp() < stopAt && (!perLeaseOnce || sent < ids.Length))
                {
                    var remaining = TimeSpan.FromSeconds(Math.Max(0, Seconds(stopAt - Stopwatch.GetTimestamp())));
                    if (!await _window.WaitAsync(remaining, stop.Token).ConfigureAwait(false)) break;
                    if (reader.IsCompleted) break;
                    var id = ids[sent++ % ids.Length];
                    _outstanding.Enqueue((id, Stopwatch.GetTimestamp()));
                    await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = id }).ConfigureAwait(false);
                }
                if (perLeaseOnce)
                {
                    // wait for the answers to the requests sent, bounded
                    var left = TimeSpan.FromSeconds(Math.Max(0.1, Seconds(stopAt - Stopwatch.GetTimestamp())));
                    await reader.WaitAsync(left, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or OperationCanceledException or TimeoutException)
            {
                if (!cancellationToken.IsCancellationRequested && e is not OperationCanceledException) Error = e.Message;
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                try { await reader.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false); }
                catch (TimeoutException) { }
            }
        }

        private async Task ReadAsync(AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> call, long expected, CancellationToken cancellationToken)
        {
            await Task.Yield();
            try
            {
                while (Answered < expected && await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    var now = Stopwatch.GetTimestamp();
                    var response = call.ResponseStream.Current;
                    if (_outstanding.TryDequeue(out var request))
                    {
                        if (request.Id == response.ID) latency.Record(Micros(now - request.SentAt));
                        else Interlocked.Increment(ref _outOfOrder);
                    }
                    if (response.TTL <= 0) Interlocked.Increment(ref _notFound);
                    Interlocked.Increment(ref _answered);
                    _window.Release();
                }
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                Error = $"{e.StatusCode} {e.Status.Detail}";
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or IOException) { }
        }
    }
}

/// <summary>watch: a put whose value starts with its send time (Stopwatch ticks), to keys under the run's prefix.</summary>
public sealed class TimestampedPutOperation(string prefix, long keySpace, int valueSize) : IBenchOperation
{
    private readonly ByteString[] _keys = Enumerable.Range(0, (int)Math.Min(keySpace, 1_000_000))
        .Select(i => ByteString.CopyFromUtf8(prefix + i.ToString("D7", CultureInfo.InvariantCulture))).ToArray();

    /// <inheritdoc />
    public async Task ExecuteAsync(BenchClient client, long sequence, CallOptions options)
    {
        var value = new byte[valueSize];
        BinaryPrimitives.WriteInt64LittleEndian(value, Stopwatch.GetTimestamp());
        var request = new PutRequest { Key = _keys[sequence % _keys.Length], Value = UnsafeByteOperations.UnsafeWrap(value) };
        await client.Kv.PutAsync(request, options).ConfigureAwait(false);
    }
}

/// <summary>A process's resident memory, from /proc/PID/status (Linux).</summary>
public static class ProcessMemory
{
    /// <summary>VmRSS and RssAnon in bytes.</summary>
    public readonly record struct Sample(long RssBytes, long RssAnonBytes);

    /// <summary>The sample, or null when the file cannot be read (no such process, not Linux).</summary>
    public static Sample? Read(int pid)
    {
        try
        {
            long rss = -1, anon = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal)) anon = Kb(line);
            }
            return rss < 0 ? null : new Sample(rss, anon);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long Kb(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}
