using System.Text.Json;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>etcd's own command-line client (Debian etcd-client) against a 3-member raftkv cluster.</summary>
public sealed class EtcdctlCompatibilityTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private async Task<string> EtcdctlWithInput(string stdin, params string[] args)
    {
        var (code, output) = await ExternalTools.RunAsync("etcdctl", ["--endpoints=" + fixture.Cluster.ClientEndpoints, .. args], Bound, stdin,
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        Assert.True(code == 0, $"etcdctl {string.Join(' ', args)} failed ({code}):\n{output}");
        return output;
    }

    private Task<string> Etcdctl(params string[] args) => EtcdctlWithInput("", args);

    [EtcdctlFact]
    public async Task PutGetDel()
    {
        Assert.Equal("OK", (await Etcdctl("put", "ctl/a", "1")).Trim());
        await Etcdctl("put", "ctl/b", "2");
        Assert.Equal("ctl/a\n1\nctl/b\n2", (await Etcdctl("get", "ctl/", "--prefix")).Trim());
        Assert.Equal("ctl/a\nctl/b", (await Etcdctl("get", "ctl/", "--prefix", "--keys-only")).Replace("\n\n", "\n").Trim());
        Assert.Equal("1\nctl/a\n1", (await Etcdctl("del", "ctl/a", "--prev-kv")).Trim());
        Assert.Equal("", (await Etcdctl("get", "ctl/a")).Trim());
    }

    [EtcdctlFact]
    public async Task Txn_FromStandardInput()
    {
        await Etcdctl("put", "ctltxn/k", "old");
        var output = await EtcdctlWithInput("value(\"ctltxn/k\") = \"old\"\n\nput ctltxn/k new\n\nput ctltxn/k failed\n\n", "txn");
        Assert.StartsWith("SUCCESS", output.Trim(), StringComparison.Ordinal);
        Assert.Equal("ctltxn/k\nnew", (await Etcdctl("get", "ctltxn/k")).Trim());
    }

    [EtcdctlFact]
    public async Task Compaction_AndReadingACompactedRevision()
    {
        await Etcdctl("put", "ctlcmp/k", "1");
        var json = await Etcdctl("put", "ctlcmp/k", "2", "-w", "json");
        var revision = JsonDocument.Parse(json).RootElement.GetProperty("header").GetProperty("revision").GetInt64();
        Assert.Contains($"compacted revision {revision}", await Etcdctl("compaction", revision.ToString(System.Globalization.CultureInfo.InvariantCulture)), StringComparison.Ordinal);
        var (code, output) = await ExternalTools.RunAsync("etcdctl", ["--endpoints=" + fixture.Cluster.ClientEndpoints, "get", "ctlcmp/k", $"--rev={revision - 1}"], Bound,
            environment: new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        Assert.NotEqual(0, code);
        Assert.Contains("required revision has been compacted", output, StringComparison.Ordinal);
    }

    [EtcdctlFact]
    public async Task EndpointStatus_ShowsOneLeaderAndTheTerm()
    {
        var json = await Etcdctl("endpoint", "status", "-w", "json");
        var statuses = JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => e.GetProperty("Status")).ToArray();
        Assert.Equal(3, statuses.Length);
        var leaders = statuses.Select(s => s.GetProperty("leader").GetUInt64()).Distinct().ToArray();
        Assert.Single(leaders);
        Assert.Single(statuses, s => s.GetProperty("header").GetProperty("member_id").GetUInt64() == leaders[0]);
        Assert.All(statuses, s => Assert.True(s.GetProperty("raftTerm").GetUInt64() > 0));
        var table = await Etcdctl("endpoint", "status", "-w", "table");
        Assert.Contains("IS LEADER", table, StringComparison.Ordinal);
        Assert.Contains("true", table, StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 11 item 8: for an endpoint written as a URL, etcdctl 3.4's status call sends ":authority: http://127.0.0.1:port",
    /// which Kestrel refused with RST_STREAM(PROTOCOL_ERROR) while etcd answers; the client listener repairs it.
    /// </summary>
    [EtcdctlFact]
    public async Task EndpointsGivenAsHttpUrls_StatusPutAndGet()
    {
        var urls = fixture.Cluster.Members.Select(m => m.ClientUrl).ToArray();
        async Task<string> EtcdctlAt(string endpoints, params string[] args)
        {
            var (code, output) = await ExternalTools.RunAsync("etcdctl", ["--endpoints=" + endpoints, .. args], Bound,
                environment: new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
            Assert.True(code == 0, $"etcdctl --endpoints={endpoints} {string.Join(' ', args)} failed ({code}):\n{output}");
            return output;
        }

        foreach (var url in urls)
        {
            var line = (await EtcdctlAt(url, "endpoint", "status")).Trim();
            Assert.StartsWith(url + ", ", line, StringComparison.Ordinal);
            Assert.DoesNotContain("PROTOCOL_ERROR", line, StringComparison.Ordinal);
        }
        var json = await EtcdctlAt(string.Join(",", urls), "endpoint", "status", "-w", "json");
        var statuses = JsonDocument.Parse(json).RootElement.EnumerateArray().ToArray();
        Assert.Equal(urls, statuses.Select(s => s.GetProperty("Endpoint").GetString()).ToArray());
        Assert.Single(statuses.Select(s => s.GetProperty("Status").GetProperty("leader").GetUInt64()).Distinct());

        Assert.Equal("OK", (await EtcdctlAt(urls[0], "put", "ctlurl/k", "v1")).Trim());
        Assert.Equal("ctlurl/k\nv1", (await EtcdctlAt(urls[1], "get", "ctlurl/k")).Trim());
        Assert.Contains("is healthy", await EtcdctlAt(urls[2], "endpoint", "health"), StringComparison.Ordinal);
    }

    [EtcdctlFact]
    public async Task MemberList_AndEndpointHealth()
    {
        var members = await Etcdctl("member", "list");
        Assert.Equal(3, members.Trim().Split('\n').Length);
        foreach (var m in fixture.Cluster.Members) Assert.Contains(m.ClientUrl, members, StringComparison.Ordinal);
        var health = await Etcdctl("endpoint", "health");
        Assert.Equal(3, health.Split("is healthy", StringSplitOptions.None).Length - 1);
    }
}
