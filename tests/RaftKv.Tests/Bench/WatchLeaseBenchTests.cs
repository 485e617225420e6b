using System.Text.Json;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Bench;

/// <summary>
/// The watch and lease workloads of <c>raftkv bench</c> run, at tiny sizes, against a 1-member raftkv and report
/// figures that add up. Not a benchmark: bench/watch-lease.sh measures.
/// </summary>
public sealed class WatchLeaseBenchTests
{
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("-w watch --watchers 10 --duration 1s", "--workload watch needs --rate")]
    [InlineData("-w watch-idle --watchers 10", "needs --rss-pid")]
    [InlineData("-w watch --rate 10 --watchers 4 --streams 8", "--streams (8) cannot exceed --watchers (4)")]
    [InlineData("-w lease-keepalive --leases 10 --streams 4 --conns 5", "--conns (5) cannot exceed --streams (4)")]
    [InlineData("-w lease-expire --lease-ttl 0", "--lease-ttl must be positive")]
    public async Task BadArguments_FailWithAMessage(string flags, string expected)
    {
        var (code, output) = await RaftKvBinary.RunAsync(["bench", .. flags.Split(' ')], ExitBound);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TinyRuns_AgainstOneMember_ReportFiguresThatAddUp()
    {
        await using var cluster = await ProcessCluster.StartAsync(1);
        var endpoint = $"127.0.0.1:{cluster.Members[0].ClientPort}";

        // Every put reaches every watcher, on one stream or spread over several.
        foreach (var (streams, conns) in new[] { (1, 1), (4, 2) })
        {
            var watch = await RunJsonAsync(["--endpoints", endpoint, "-w", "watch", "--watchers", "8", "--streams", $"{streams}", "--conns", $"{conns}",
                "--rate", "50", "--clients", "2", "--key-space", "5", "--duration", "1s"]);
            Assert.Equal(8, watch.GetProperty("watchersCreated").GetInt32());
            var puts = watch.GetProperty("putsOk").GetInt64();
            Assert.InRange(puts, 10, 60);
            Assert.Equal(puts * 8, watch.GetProperty("eventsExpected").GetInt64());
            Assert.Equal(puts * 8, watch.GetProperty("eventsReceived").GetInt64());
            Assert.True(watch.GetProperty("complete").GetBoolean());
            Assert.True(watch.GetProperty("eventsPerS").GetDouble() > 0);
            Assert.Equal(puts * 8, watch.GetProperty("deliveryLatencyMs").GetProperty("count").GetInt64());
        }

        // Any readable pid will do for the wiring (the memory figure itself is the script's business).
        var idle = await RunJsonAsync(["--endpoints", endpoint, "--target", "all", "-w", "watch-idle", "--watchers", "50", "--streams", "5", "--conns", "2",
            "--rss-pid", $"{Environment.ProcessId}", "--duration", "500ms"]);
        Assert.Equal(50, idle.GetProperty("watchersCreated").GetInt32());
        Assert.Equal(0, idle.GetProperty("eventsReceived").GetInt64());
        Assert.Equal(6, idle.GetProperty("rssStepsMiB").GetString()!.Split(' ').Length);

        var keepAlive = await RunJsonAsync(["--endpoints", endpoint, "-w", "lease-keepalive", "--leases", "20", "--streams", "2", "--conns", "2",
            "--clients", "4", "--in-flight", "8", "--lease-ttl", "30", "--duration", "1s"]);
        Assert.Equal(20, keepAlive.GetProperty("leases").GetInt32());
        Assert.True(keepAlive.GetProperty("keepAlives").GetInt64() > 0);
        Assert.Equal(0, keepAlive.GetProperty("notFound").GetInt64());
        Assert.Equal(0, keepAlive.GetProperty("outOfOrder").GetInt64());

        // The test cluster's minimum TTL is ceil(1.5 x 500 ms) = 1 s: the keys must be gone a few seconds later.
        var expire = await RunJsonAsync(["--endpoints", endpoint, "-w", "lease-expire", "--leases", "30", "--lease-ttl", "2", "--clients", "4", "--conns", "2"]);
        Assert.Equal(30, expire.GetProperty("keysAtStart").GetInt64());
        Assert.Equal(0, expire.GetProperty("keysLeft").GetInt64());
        Assert.True(expire.GetProperty("complete").GetBoolean());
        // Not before the TTL: the first key goes after the earliest possible TTL end (the clock of the refresh's start).
        Assert.True(expire.GetProperty("firstGoneAfterTtlS").GetDouble() > -0.1);
        Assert.InRange(expire.GetProperty("allGoneAfterFirstTtlEndS").GetDouble(), 0, 10);
    }

    private static async Task<JsonElement> RunJsonAsync(string[] args)
    {
        var (code, output) = await RaftKvBinary.RunAsync(["bench", .. args, "-o", "json", "--no-progress"], ExitBound);
        Assert.True(code == 0, $"raftkv bench {string.Join(' ', args)} exited with {code}:\n{output}");
        var json = output.Split('\n').Single(l => l.StartsWith('{'));
        return JsonDocument.Parse(json).RootElement.Clone();
    }
}
