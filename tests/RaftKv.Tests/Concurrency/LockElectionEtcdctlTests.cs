using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Concurrency;

/// <summary>
/// etcdctl's lock and elect (Debian etcd-client) against a 3-member raftkv cluster. etcdctl 3.4 runs
/// clientv3/concurrency itself, over transactions, leases and watches, so these check that machinery as a lock
/// recipe uses it; the server-side services are checked through dotnet-etcd (<see cref="LockElectionClientTests"/>).
/// </summary>
public sealed class LockElectionEtcdctlTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private Task<(int ExitCode, string Output)> Etcdctl(params string[] args) =>
        ExternalTools.RunAsync("etcdctl", ["--endpoints=" + fixture.Cluster.ClientEndpoints, .. args], Bound,
            environment: new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });

    private async Task<string> EtcdctlOk(params string[] args)
    {
        var (code, output) = await Etcdctl(args);
        Assert.True(code == 0, $"etcdctl {string.Join(' ', args)} failed ({code}):\n{output}");
        return output;
    }

    [EtcdctlFact]
    public async Task Lock_RunsTheCommandWhileHoldingIt()
    {
        var output = await EtcdctlOk("lock", "ctllock", "--", "sh", "-c", "echo \"holding $ETCD_LOCK_KEY\"");
        Assert.Matches("holding ctllock/[0-9a-f]+", output);
        Assert.Equal("", (await EtcdctlOk("get", "--prefix", "ctllock/")).Trim()); // released afterwards
    }

    [EtcdctlFact]
    public async Task Lock_TheSecondContenderWaitsUntilTheFirstReleases()
    {
        var dir = Directory.CreateTempSubdirectory("raftkv-lock-");
        try
        {
            string F(string name) => Path.Combine(dir.FullName, name);
            var first = Etcdctl("lock", "ctllock2", "--", "sh", "-c", $"touch {F("first")}; while [ ! -e {F("release")} ]; do sleep 0.05; done");
            await Poll.UntilAsync(() => Task.FromResult(File.Exists(F("first"))), Bound, "the first contender holding the lock");
            var second = Etcdctl("lock", "ctllock2", "--", "sh", "-c", $"touch {F("second")}");
            // The second is in the queue (its key is there) but does not run.
            await Poll.UntilAsync(async () => (await EtcdctlOk("get", "--prefix", "ctllock2/", "--keys-only")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 2,
                Bound, "the second contender's key");
            Assert.False(File.Exists(F("second")), "the second contender ran while the first held the lock");
            Assert.False(second.IsCompleted);

            File.WriteAllText(F("release"), "");
            Assert.Equal(0, (await first).ExitCode);
            Assert.Equal(0, (await second).ExitCode);
            Assert.True(File.Exists(F("second")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [EtcdctlFact]
    public async Task Elect_TheListenerShowsEachLeader()
    {
        using var listener = new EtcdctlProcess(fixture.Cluster.ClientEndpoints, "elect", "-l", "ctlelect");
        using var one = new EtcdctlProcess(fixture.Cluster.ClientEndpoints, "elect", "ctlelect", "one");
        await Poll.UntilAsync(() => Task.FromResult(one.Lines.Contains("one") && listener.Lines.Contains("one")), Bound,
            "candidate one elected and seen by the listener", () => $"one:\n{one.Output}\nlistener:\n{listener.Output}");
        Assert.Matches("^ctlelect/[0-9a-f]+$", one.Lines[0]);

        using var two = new EtcdctlProcess(fixture.Cluster.ClientEndpoints, "elect", "ctlelect", "two");
        await Poll.UntilAsync(async () => (await EtcdctlOk("get", "--prefix", "ctlelect/", "--keys-only")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 2,
            Bound, "candidate two campaigning");
        Assert.DoesNotContain("two", two.Lines);

        await one.StopAsync(); // resigns
        await Poll.UntilAsync(() => Task.FromResult(two.Lines.Contains("two") && listener.Lines.Contains("two")), Bound,
            "candidate two elected and seen by the listener", () => $"two:\n{two.Output}\nlistener:\n{listener.Output}");
        var shown = listener.Lines.Where(l => !l.StartsWith("ctlelect/", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["one", "two"], shown);
        await two.StopAsync();
        await listener.StopAsync();
    }
}
