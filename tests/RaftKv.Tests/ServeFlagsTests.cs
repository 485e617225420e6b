using System.Net;
using System.Net.Sockets;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>Bad flags and unusable resources fail at once, clearly, with a non-zero exit code, changing nothing.</summary>
public sealed class ServeFlagsTests
{
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("--no-such-flag", "--no-such-flag")]
    [InlineData("--heartbeat-interval 100 --election-timeout 200", "at least 5 times")]
    [InlineData("--initial-cluster X=http://127.0.0.1:1", "is not in --initial-cluster")]
    [InlineData("--initial-cluster-state maybe", "--initial-cluster-state must be")]
    [InlineData("--listen-peer-urls ftp://x", "is not a URL")]
    [InlineData("--election-timeout abc", "abc")]
    // Limits that disagree with the log's and the snapshot's (issue: a 64 MiB request stopped the leader at the 16 MiB
    // record limit; a 2 GiB quota let the store outgrow what a snapshot can hold).
    [InlineData("--max-request-bytes 67108864", "--max-request-bytes (67108864) is above")]
    [InlineData("--backend memory --quota-backend-bytes 8589934592", "--quota-backend-bytes (8589934592) is above 2013265863 for --backend memory")]
    [InlineData("--quota-backend-bytes 1099511627777", "--quota-backend-bytes (1099511627777) is above 1099511627776")]
    [InlineData("--quota-backend-bytes 1000", "--quota-backend-bytes must be 0 (the default) or at least 1 MiB")]
    [InlineData("--backend tape", "--backend must be 'disk' or 'memory', was 'tape'")]
    public async Task BadFlags_FailWithAMessage(string flags, string expected)
    {
        var dir = Path.Combine(Path.GetTempPath(), "raftkv-tests", Guid.NewGuid().ToString("n"));
        var args = new List<string> { "serve", "--data-dir", dir };
        args.AddRange(flags.Split(' '));
        var (code, output) = await RaftKvBinary.RunAsync(args, ExitBound);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir), "a rejected start must not create the data directory");
    }

    [Fact]
    public async Task OccupiedPort_FailsNamingTheProblem()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var dir = Path.Combine(Path.GetTempPath(), "raftkv-tests", Guid.NewGuid().ToString("n"));
        try
        {
            var (code, output) = await RaftKvBinary.RunAsync(
                ["serve", "--data-dir", dir, "--listen-client-urls", $"http://127.0.0.1:{port}", "--listen-peer-urls", $"http://127.0.0.1:{FreePorts.Next()}"], ExitBound);
            Assert.Equal(1, code);
            Assert.Contains("cannot listen", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task DataDirectoryInUse_TheSecondProcessIsRefused()
    {
        await using var cluster = ProcessCluster.Create(1);
        var first = cluster.Members[0];
        first.Start();
        await cluster.WaitForLeaderAsync();
        var (code, output) = await RaftKvBinary.RunAsync(
            ["serve", "--name", "A", "--data-dir", first.DataDir, "--listen-client-urls", $"http://127.0.0.1:{FreePorts.Next()}",
             "--listen-peer-urls", first.PeerUrl, "--initial-cluster", cluster.InitialCluster, "--initial-cluster-token", "test-cluster"], ExitBound);
        Assert.Equal(1, code);
        Assert.Contains("lock", output, StringComparison.OrdinalIgnoreCase);
        Assert.True(first.IsRunning);
    }

    [Fact]
    public async Task DataDirectoryOfAnotherCluster_IsRefusedAndLeftUntouched()
    {
        await using var cluster = ProcessCluster.Create(1);
        var member = cluster.Members[0];
        member.Start();
        await cluster.WaitForLeaderAsync();
        await member.StopAsync();
        var files = Directory.GetFiles(member.DataDir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => File.ReadAllBytes(f).Length);
        var (code, output) = await RaftKvBinary.RunAsync(
            ["serve", "--name", "A", "--data-dir", member.DataDir, "--listen-client-urls", $"http://127.0.0.1:{FreePorts.Next()}",
             "--listen-peer-urls", member.PeerUrl, "--initial-cluster", cluster.InitialCluster, "--initial-cluster-token", "another-cluster"], ExitBound);
        Assert.Equal(1, code);
        Assert.Contains("belongs to cluster", output, StringComparison.Ordinal);
        Assert.Equal(files, Directory.GetFiles(member.DataDir, "*", SearchOption.AllDirectories).ToDictionary(f => f, f => File.ReadAllBytes(f).Length));
    }
}
