using System.Text.Json;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Bench;

/// <summary><c>raftkv bench</c>: bad arguments fail fast with a message; a tiny run against a 1-member cluster reports sane figures.</summary>
public sealed class BenchCommandTests
{
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("--clients 0", "--clients must be positive")]
    [InlineData("--clients 2 --conns 3", "--conns (3) cannot exceed --clients (2)")]
    [InlineData("--workload nope", "nope")]
    [InlineData("--duration 11m", "--duration is at most 10 minutes")]
    [InlineData("--duration 3x", "is not a duration")]
    [InlineData("--rate -5", "--rate must be positive")]
    [InlineData("--read-ratio 1.5", "--read-ratio must be between 0 and 1")]
    [InlineData("--key-size 2 --key-space 1000", "cannot hold 1000 distinct keys")]
    [InlineData("--endpoints ftp://x:1", "is not host:port")]
    [InlineData("-o xml", "xml")]
    public async Task BadArguments_FailWithAMessage(string flags, string expected)
    {
        var (code, output) = await RaftKvBinary.RunAsync(["bench", .. flags.Split(' ')], ExitBound);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoEndpointAnswers_ExitsTwoSayingSo()
    {
        var (code, output) = await RaftKvBinary.RunAsync(["bench", "--endpoints", $"127.0.0.1:{FreePorts.Next()}", "--total", "10"], ExitBound);
        Assert.Equal(2, code);
        Assert.Contains("no endpoint answered", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TinyRuns_AgainstOneMember_ReportSaneFigures()
    {
        await using var cluster = await ProcessCluster.StartAsync(1);
        var endpoint = $"127.0.0.1:{cluster.Members[0].ClientPort}";

        var put = await RunJsonAsync(["--endpoints", endpoint, "--total", "200", "--clients", "4", "--conns", "2", "--val-size", "64"]);
        Assert.Equal("put", put.GetProperty("workload").GetString());
        Assert.Equal(200, put.GetProperty("ok").GetInt64());
        Assert.Equal(0, put.GetProperty("errors").GetInt64());
        Assert.True(put.GetProperty("throughputOpsPerS").GetDouble() > 0);
        var latency = put.GetProperty("latencyMs");
        Assert.True(latency.GetProperty("p50").GetDouble() > 0);
        Assert.True(latency.GetProperty("p50").GetDouble() <= latency.GetProperty("p99").GetDouble());
        Assert.True(latency.GetProperty("p99").GetDouble() <= latency.GetProperty("max").GetDouble());
        Assert.Equal(200, put.GetProperty("histogramUs").EnumerateArray().Sum(b => b[2].GetInt64()));
        Assert.Equal(endpoint, put.GetProperty("settings").GetProperty("targets")[0].GetString());

        // Every successful increment moved a counter by exactly one: no lost update, no double apply.
        var txn = await RunJsonAsync(["--endpoints", endpoint, "--workload", "txn", "--total", "60", "--clients", "4", "--cas-keys", "2"]);
        Assert.Equal(60, txn.GetProperty("ok").GetInt64());
        Assert.Equal(60, txn.GetProperty("casCounterDelta").GetInt64());

        var range = await RunJsonAsync(["--endpoints", endpoint, "--workload", "range", "--consistency", "s", "--prefill", "--key-space", "50", "--total", "100", "--rate", "500", "--clients", "4"]);
        Assert.Equal(100, range.GetProperty("ok").GetInt64());
        Assert.Equal("s", range.GetProperty("settings").GetProperty("consistency").GetString());
        Assert.True(range.TryGetProperty("lateStarts", out _));
    }

    private static async Task<JsonElement> RunJsonAsync(string[] args)
    {
        var (code, output) = await RaftKvBinary.RunAsync(["bench", .. args, "-o", "json", "--no-progress"], ExitBound);
        Assert.True(code == 0, $"raftkv bench {string.Join(' ', args)} exited with {code}:\n{output}");
        var json = output.Split('\n').Single(l => l.StartsWith('{'));
        return JsonDocument.Parse(json).RootElement.Clone();
    }
}
