using System.Diagnostics;
using Google.Protobuf;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests;

/// <summary>
/// The server's memory during a RangeStream of a large range, next to a plain Range of the same keys (issue 14 asks
/// for 1M small keys). Opt-in: <c>RAFTKV_RANGESTREAM_KEYS=1000000</c> (and optionally
/// <c>RAFTKV_RANGESTREAM_BACKEND=memory</c>); the figures go to the test output and to
/// <c>$TMPDIR/raftkv-rangestream-memory.txt</c>.
/// </summary>
public sealed class RangeStreamMemoryTests(ITestOutputHelper output)
{
    private const int PutsPerTxn = 100;
    private const int Writers = 8;

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [OptInFact("RAFTKV_RANGESTREAM_KEYS")]
    public async Task PeakRss_RangeStreamStaysFlat_WhereRangeGrowsWithTheResult()
    {
        var keys = int.Parse(Environment.GetEnvironmentVariable("RAFTKV_RANGESTREAM_KEYS")!, System.Globalization.CultureInfo.InvariantCulture);
        var backend = Environment.GetEnvironmentVariable("RAFTKV_RANGESTREAM_BACKEND") ?? "disk";
        await using var cluster = ProcessCluster.Create(1);
        var member = cluster.Members[0];
        member.ExtraArgs = [.. member.ExtraArgs, "--backend", backend];
        member.Start();
        await cluster.WaitForLeaderAsync();
        using var channel = GrpcChannel.ForAddress(member.ClientUrl, new GrpcChannelOptions { MaxReceiveMessageSize = null });
        var kv = new KV.KVClient(channel);

        var seeding = Stopwatch.StartNew();
        var txns = (keys + PutsPerTxn - 1) / PutsPerTxn;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(async _ =>
        {
            for (var t = Interlocked.Increment(ref next); t < txns; t = Interlocked.Increment(ref next))
            {
                var txn = new TxnRequest();
                for (var i = t * PutsPerTxn; i < Math.Min(keys, (t + 1) * PutsPerTxn); i++)
                {
                    txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B($"m/{i:D7}"), Value = B($"value-{i:D10}") } });
                }
                await kv.TxnAsync(txn, deadline: DateTime.UtcNow.AddSeconds(60));
            }
        }));
        seeding.Stop();

        var pid = member.Pid!.Value;
        var request = new RangeRequest { Key = B("m/"), RangeEnd = B("m0"), Serializable = true };
        var idleRss = Rss(pid);

        async Task<(long, long)> StreamAsync()
        {
            using var call = kv.RangeStream(request, deadline: DateTime.UtcNow.AddMinutes(10));
            long pairs = 0, count = 0;
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                pairs += call.ResponseStream.Current.RangeResponse.Kvs.Count;
                count++;
            }
            return (pairs, count);
        }

        // The first stream also fills the disk store's block cache (64 MiB by default); the second shows the stream alone.
        var (coldPeak, coldTime, _, _) = await Sampled(pid, StreamAsync);
        var warmRss = Rss(pid);
        var (streamPeak, streamTime, streamed, chunks) = await Sampled(pid, StreamAsync);
        var afterStreamRss = Rss(pid); // the Range runs last: the heap it grows is not given back at once
        var (rangePeak, rangeTime, ranged, _) = await Sampled(pid, async () =>
        {
            var response = await kv.RangeAsync(request, deadline: DateTime.UtcNow.AddMinutes(10));
            return ((long)response.Kvs.Count, 1L);
        });

        Assert.Equal(keys, streamed);
        Assert.Equal(keys, ranged);
        var report = string.Join('\n',
            $"RangeStream vs Range, {keys:N0} keys of {B("m/0000000").Length} + {B("value-0000000000").Length} bytes, backend {backend}, one member",
            $"seeded in {seeding.Elapsed.TotalSeconds:F1} s ({txns:N0} txns of {PutsPerTxn} puts, {Writers} writers)",
            $"server VmRSS before the streams:           {Mb(idleRss)}",
            $"peak VmRSS during the first RangeStream ({coldTime.TotalSeconds:F1} s): {Mb(coldPeak)} (+{Mb(coldPeak - idleRss)})",
            $"peak VmRSS during the second RangeStream ({chunks:N0} chunks, {streamTime.TotalSeconds:F1} s): {Mb(streamPeak)} (+{Mb(streamPeak - warmRss)})",
            $"server VmRSS after the stream:             {Mb(afterStreamRss)}",
            $"peak VmRSS during Range ({rangeTime.TotalSeconds:F1} s):          {Mb(rangePeak)} (+{Mb(rangePeak - afterStreamRss)})");
        output.WriteLine(report);
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "raftkv-rangestream-memory.txt"), report + "\n");
        if (keys >= 100_000) Assert.True(streamPeak - warmRss < rangePeak - afterStreamRss, report);
    }

    /// <summary>Runs <paramref name="work"/> while sampling the server's VmRSS every 5 ms; the peak and the duration.</summary>
    private static async Task<(long Peak, TimeSpan Time, long A, long B)> Sampled(int pid, Func<Task<(long, long)>> work)
    {
        using var stop = new CancellationTokenSource();
        long peak = Rss(pid);
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, Rss(pid));
                try
                {
                    await Task.Delay(5, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
        var watch = Stopwatch.StartNew();
        var (a, b) = await work();
        watch.Stop();
        await stop.CancelAsync();
        await sampler;
        return (Math.Max(peak, Rss(pid)), watch.Elapsed, a, b);
    }

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"no VmRSS for pid {pid}");
    }

    private static string Mb(long bytes) => $"{bytes / 1048576.0:F0} MiB";
}
