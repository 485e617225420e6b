using System.Globalization;
using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using RaftKv.Tests.Http;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Cli;

/// <summary><c>raftkv put/get/del/status/members/watch</c> as a person or a script runs them, against raftkv and etcd.</summary>
[Collection(HttpCollection.Name)]
public sealed class CliClientTests(FaultClusterFixture fixture) : IClassFixture<FaultClusterFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private ProcessCluster Cluster => fixture.Cluster;

    private static async Task<string> Ok(params string[] args)
    {
        var (code, output) = await RaftKvBinary.RunAsync(args, Bound);
        Assert.True(code == 0, $"raftkv {string.Join(' ', args)} exited {code}:\n{output}");
        return output;
    }

    private string Endpoints => Cluster.ClientEndpoints;

    [Fact]
    public async Task PutGetDel_AsTablesAndJson()
    {
        Assert.Equal("OK", (await Ok("put", "clikv/a", "one", "--endpoints", Endpoints)).Trim());
        await Ok("put", "clikv/b", "two words", "--endpoints", Endpoints);

        var table = (await Ok("get", "clikv/", "--prefix", "--endpoints", Endpoints)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["KEY", "VALUE", "MOD", "REV", "VERSION"], table[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("clikv/a", table[1], StringComparison.Ordinal);
        Assert.Contains("two words", table[2], StringComparison.Ordinal);

        using var json = JsonDocument.Parse(await Ok("get", "clikv/a", "-o", "json", "--endpoints", Endpoints));
        var kv = Assert.Single(json.RootElement.GetProperty("kvs").EnumerateArray());
        Assert.Equal("one", kv.GetProperty("value").GetString());
        Assert.True(json.RootElement.GetProperty("revision").GetInt64() >= kv.GetProperty("modRevision").GetInt64());

        Assert.Equal("2", (await Ok("del", "clikv/", "--prefix", "--endpoints", Endpoints)).Trim());
        using var empty = JsonDocument.Parse(await Ok("get", "clikv/", "--prefix", "-o", "json", "--endpoints", Endpoints));
        Assert.Equal(0, empty.RootElement.GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task FirstEndpointDown_TheNextOneAnswers()
    {
        var dead = $"127.0.0.1:{FreePorts.Next()}";
        Assert.Equal("OK", (await Ok("put", "cli/failover", "x", "--endpoints", $"{dead},{Endpoints}")).Trim());
    }

    [Fact]
    public async Task Status_IsATableOfEveryMember_WithOneLeader_AndJson()
    {
        var leader = await Cluster.WaitForLeaderAsync();
        var lines = (await Ok("status", "--endpoints", Endpoints)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("NAME", lines[0], StringComparison.Ordinal);
        Assert.Contains("LAG", lines[0], StringComparison.Ordinal);
        Assert.Equal(4, lines.Length);
        Assert.Single(lines, l => l.Contains(" leader ", StringComparison.Ordinal) && l.StartsWith(leader.Name, StringComparison.Ordinal));
        Assert.Equal(2, lines.Count(l => l.Contains(" follower ", StringComparison.Ordinal)));

        using var json = JsonDocument.Parse(await Ok("status", "-o", "json", "--endpoints", Endpoints));
        var rows = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal(Cluster.Members.Select(m => m.Name).Order(), rows.Select(r => r.GetProperty("name").GetString()).Order());
        Assert.All(rows, r => Assert.True(r.GetProperty("commit").GetInt64() >= r.GetProperty("applied").GetInt64()));
        Assert.Single(rows, r => r.GetProperty("role").GetString() == "leader");
    }

    [Fact]
    public async Task Status_ShowsAnUnreachableEndpoint_AndStillSucceeds()
    {
        var dead = $"127.0.0.1:{FreePorts.Next()}";
        var output = await Ok("status", "--endpoints", $"{Endpoints},{dead}");
        Assert.Contains(output.Split('\n'), l => l.Contains(dead, StringComparison.Ordinal) && l.Contains("unreachable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Members_ListsNamesUrlsAndTheLeader()
    {
        var leader = await Cluster.WaitForLeaderAsync();
        using var json = JsonDocument.Parse(await Ok("members", "-o", "json", "--endpoints", Endpoints));
        var members = json.RootElement.GetProperty("members").EnumerateArray().ToArray();
        // MemberList is in the member table's order (by id), as etcd's.
        Assert.Equal(Cluster.Members.Select(m => (m.Name, m.ClientUrl)).Order(),
            members.Select(m => (m.GetProperty("name").GetString()!, m.GetProperty("clientUrls")[0].GetString()!)).Order());
        Assert.Equal(leader.Name, Assert.Single(members, m => m.GetProperty("isLeader").GetBoolean()).GetProperty("name").GetString());
        var table = await Ok("members", "--endpoints", Endpoints);
        Assert.StartsWith("ID", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MemberAddListPromoteRemove_ALearnerAppearsWithItsRole_PromoteOfAnUnstartedOneSaysWhy_AndRemoveDropsIt()
    {
        await Cluster.WaitForLeaderAsync();
        var peerUrl = $"http://127.0.0.1:{FreePorts.Next()}";
        using var addedJson = JsonDocument.Parse(await Ok("member", "add", "cli-learner", "--peer-urls", peerUrl, "--learner", "-o", "json", "--endpoints", Endpoints));
        var added = addedJson.RootElement.GetProperty("member");
        var id = added.GetProperty("id").GetString()!;
        var removed = false;
        try
        {
            Assert.True(added.GetProperty("isLearner").GetBoolean());
            Assert.Contains($"cli-learner={peerUrl}", addedJson.RootElement.GetProperty("initialCluster").GetString()!.Split(','));
            using var list = JsonDocument.Parse(await Ok("member", "list", "-o", "json", "--endpoints", Endpoints));
            var rows = list.RootElement.GetProperty("members").EnumerateArray().ToArray();
            Assert.Equal(Cluster.Members.Count + 1, rows.Length);
            var learner = Assert.Single(rows, r => r.GetProperty("id").GetString() == id);
            Assert.True(learner.GetProperty("isLearner").GetBoolean());
            Assert.Equal("unstarted", learner.GetProperty("status").GetString());
            Assert.All(rows.Where(r => r.GetProperty("id").GetString() != id), r => Assert.False(r.GetProperty("isLearner").GetBoolean()));

            var table = (await Ok("member", "list", "--endpoints", Endpoints)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["ID", "STATUS", "NAME", "PEER", "ADDRS", "CLIENT", "ADDRS", "IS", "LEARNER"], table[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(table, l => l.StartsWith(id, StringComparison.Ordinal) && l.Contains("unstarted", StringComparison.Ordinal) && l.EndsWith("true", StringComparison.Ordinal));

            // It never started, so it has not caught up: the cluster refuses, and the message names the member.
            var (code, output) = await RaftKvBinary.RunAsync(["member", "promote", id, "--endpoints", Endpoints], Bound);
            Assert.True(code == 1, output);
            Assert.Contains($"raftkv member promote: {id}: etcdserver: can only promote a learner member which is in sync with leader", output, StringComparison.Ordinal);

            Assert.StartsWith($"member {id} removed from cluster", await Ok("member", "remove", id, "--endpoints", Endpoints), StringComparison.Ordinal);
            removed = true;
            using var after = JsonDocument.Parse(await Ok("member", "list", "-o", "json", "--endpoints", Endpoints));
            Assert.Equal(Cluster.Members.Select(m => m.Name).Order(), after.RootElement.GetProperty("members").EnumerateArray().Select(r => r.GetProperty("name").GetString()).Order());

            (code, output) = await RaftKvBinary.RunAsync(["member", "remove", id, "--endpoints", Endpoints], Bound);
            Assert.True(code == 1, output);
            Assert.Contains($"no member named '{id}' or with that id (members: ", output, StringComparison.Ordinal);
            (code, output) = await RaftKvBinary.RunAsync(["member", "add", "x", "--peer-urls", "127.0.0.1:1", "--endpoints", Endpoints], Bound);
            Assert.True(code == 2, output);
            Assert.Contains("--peer-urls: '127.0.0.1:1' is not a URL", output, StringComparison.Ordinal);
        }
        finally
        {
            if (!removed) await RaftKvBinary.RunAsync(["member", "remove", id, "--endpoints", Endpoints], Bound);
        }
    }

    [Fact]
    public async Task ClusterAdd_StartsANewMemberThatCatchesUpAndIsPromoted_AndClusterRemoveStopsIt()
    {
        await Cluster.WaitForLeaderAsync();
        Assert.Equal("OK", (await Ok("put", "cli/grow", "before-d", "--endpoints", Endpoints)).Trim());
        var root = Path.Combine(Cluster.Root, "cluster-add");
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var launcher = RaftKvBinary.Start(["cluster", "add", "D", "--data-dir", root, "--endpoints", Endpoints,
            "--heartbeat-interval", ProcessCluster.HeartbeatMs.ToString(CultureInfo.InvariantCulture),
            "--election-timeout", ProcessCluster.ElectionTimeoutMs.ToString(CultureInfo.InvariantCulture)], output);
        string Said() => string.Join('\n', output);
        try
        {
            // D joins, publishes its name and client URL, and is promoted once caught up.
            var d = await Poll.UntilAsync(async () =>
            {
                if (launcher.HasExited) throw new InvalidOperationException($"'cluster add' exited with {launcher.ExitCode}:\n{Said()}");
                int code;
                string text;
                try
                {
                    (code, text) = await RaftKvBinary.RunAsync(["member", "list", "-o", "json", "--endpoints", Endpoints], TimeSpan.FromSeconds(30));
                }
                catch (TimeoutException)
                {
                    return null; // the machine is busy; ask again
                }
                if (code != 0) return null;
                using var list = JsonDocument.Parse(text);
                var row = list.RootElement.GetProperty("members").EnumerateArray().FirstOrDefault(r => r.GetProperty("name").GetString() == "D");
                return row.ValueKind == JsonValueKind.Object && !row.GetProperty("isLearner").GetBoolean() ? row.Clone() : (JsonElement?)null;
            }, TimeSpan.FromSeconds(90), "D to start and be promoted", Said) ?? default;
            Assert.True(Directory.Exists(Path.Combine(root, "D")), Said());
            var dClient = d.GetProperty("clientUrls")[0].GetString()!;
            using var got = JsonDocument.Parse(await Ok("get", "cli/grow", "-o", "json", "--endpoints", dClient.Replace("http://", "", StringComparison.Ordinal)));
            Assert.Equal("before-d", got.RootElement.GetProperty("kvs")[0].GetProperty("value").GetString());
            Assert.Contains(output, l => l.Contains("promoted to a voting member", StringComparison.Ordinal));

            Assert.StartsWith("removed D (", await Ok("cluster", "remove", "D", "--endpoints", Endpoints), StringComparison.Ordinal);
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await launcher.WaitForExitAsync(bound.Token); // the removed member stops, and with it 'cluster add'
            using var after = JsonDocument.Parse(await Ok("member", "list", "-o", "json", "--endpoints", Endpoints));
            Assert.Equal(Cluster.Members.Count, after.RootElement.GetProperty("members").GetArrayLength());
        }
        finally
        {
            if (!launcher.HasExited)
            {
                await RaftKvBinary.RunAsync(["cluster", "remove", "D", "--endpoints", Endpoints], Bound);
                launcher.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task ClusterReplace_RemovesTheOldMember_AndStartsANewOneThatCatchesUpAndIsPromoted()
    {
        // etcd's replacement, by one command: added member F is replaced by G (the fixture's members stay as they are).
        await Cluster.WaitForLeaderAsync();
        Assert.Equal("OK", (await Ok("put", "cli/replace", "before-g", "--endpoints", Endpoints)).Trim());
        var root = Path.Combine(Cluster.Root, "cluster-replace");
        string[] timing = ["--heartbeat-interval", ProcessCluster.HeartbeatMs.ToString(CultureInfo.InvariantCulture),
            "--election-timeout", ProcessCluster.ElectionTimeoutMs.ToString(CultureInfo.InvariantCulture)];
        var fOutput = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var gOutput = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var f = RaftKvBinary.Start(["cluster", "add", "F", "--data-dir", root, "--endpoints", Endpoints, .. timing], fOutput);
        System.Diagnostics.Process? g = null;
        string Said() => string.Join('\n', fOutput.Concat(gOutput));
        async Task<JsonElement?> VoterNamed(string name)
        {
            var (code, text) = await RaftKvBinary.RunAsync(["member", "list", "-o", "json", "--endpoints", Endpoints], TimeSpan.FromSeconds(30));
            if (code != 0) return null;
            using var list = JsonDocument.Parse(text);
            var row = list.RootElement.GetProperty("members").EnumerateArray().FirstOrDefault(r => r.GetProperty("name").GetString() == name);
            return row.ValueKind == JsonValueKind.Object && !row.GetProperty("isLearner").GetBoolean() ? row.Clone() : null;
        }
        try
        {
            await Poll.UntilAsync(() => VoterNamed("F"), TimeSpan.FromSeconds(90), "F to start and be promoted", Said);
            g = RaftKvBinary.Start(["cluster", "replace", "F", "G", "--data-dir", root, "--endpoints", Endpoints, .. timing], gOutput);
            var row = await Poll.UntilAsync(() => VoterNamed("G"), TimeSpan.FromSeconds(90), "G to replace F", Said) ?? default;
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await f.WaitForExitAsync(bound.Token); // F was removed: it stopped, and with it its launcher
            Assert.Contains(gOutput, l => l.StartsWith("removed F (", StringComparison.Ordinal));
            using var after = JsonDocument.Parse(await Ok("member", "list", "-o", "json", "--endpoints", Endpoints));
            var names = after.RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToArray();
            Assert.Contains("G", names);
            Assert.DoesNotContain("F", names);
            var gClient = row.GetProperty("clientUrls")[0].GetString()!.Replace("http://", "", StringComparison.Ordinal);
            using var got = JsonDocument.Parse(await Ok("get", "cli/replace", "-o", "json", "--endpoints", gClient));
            Assert.Equal("before-g", got.RootElement.GetProperty("kvs")[0].GetProperty("value").GetString());
        }
        finally
        {
            foreach (var name in new[] { "F", "G" }) await RaftKvBinary.RunAsync(["cluster", "remove", name, "--endpoints", Endpoints], Bound);
            if (!f.HasExited) f.Kill(entireProcessTree: true);
            if (g is { HasExited: false }) g.Kill(entireProcessTree: true);
            g?.Dispose();
        }
    }

    [Fact]
    public async Task NoEndpointAnswers_ExitCode1_NamingEveryEndpoint()
    {
        var a = $"127.0.0.1:{FreePorts.Next()}";
        var b = $"127.0.0.1:{FreePorts.Next()}";
        foreach (var command in new[] { new[] { "get", "k" }, ["put", "k", "v"], ["del", "k"], ["status"], ["members"] })
        {
            var (code, output) = await RaftKvBinary.RunAsync([.. command, "--endpoints", $"{a},{b}", "--dial-timeout", "500"], Bound);
            Assert.True(code == 1, $"{command[0]}: {code}\n{output}");
            Assert.Contains($"raftkv {command[0]}: no endpoint answered: {a} (connection refused), {b} (connection refused)", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task BadArguments_ExitNonZero_WithAMessage()
    {
        var (code, output) = await RaftKvBinary.RunAsync(["get", "k", "--endpoints", "https://127.0.0.1:1"], Bound);
        Assert.Equal(2, code);
        Assert.Contains("not host:port", output, StringComparison.Ordinal);
        (code, output) = await RaftKvBinary.RunAsync(["get", "k", "-o", "yaml"], Bound);
        Assert.NotEqual(0, code);
        Assert.Contains("yaml", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_FromARevisionWithPrevKv_PrintsEachPreviousValue_AndACompactedStartSaysWhereToResume()
    {
        using var client = new EtcdClient(Cluster.Members[0].ClientUrl);
        await client.PutAsync("cliw/k", "one");
        var second = await client.PutAsync("cliw/k", "two");
        var deleted = await client.DeleteAsync("cliw/k");
        var from = second.Header.Revision.ToString(CultureInfo.InvariantCulture);

        var output = await Ok("watch", "cliw/k", "--rev", from, "--prev-kv", "--max-events", "2", "--endpoints", Endpoints);
        var lines = output.Split('\n').Where(l => !l.StartsWith("watching ", StringComparison.Ordinal) && l.Length > 0).ToArray();
        Assert.Equal(["PUT cliw/k two", "  prev cliw/k one", "DELETE cliw/k", "  prev cliw/k two"], lines);
        var json = await Ok("watch", "cliw/k", "--rev", from, "--prev-kv", "--max-events", "1", "-o", "json", "--endpoints", Endpoints);
        using (var doc = JsonDocument.Parse(json))
        {
            Assert.Equal("two", doc.RootElement.GetProperty("value").GetString());
            Assert.Equal("one", doc.RootElement.GetProperty("prevKv").GetProperty("value").GetString());
        }

        // History below the compaction is gone: the watch is cancelled and the command names the revision to resume from.
        var compactedAt = deleted.Header.Revision;
        await client.CompactAsync(new CompactionRequest { Revision = compactedAt });
        var (code, failed) = await RaftKvBinary.RunAsync(["watch", "cliw/k", "--rev", from, "--endpoints", Endpoints], Bound);
        Assert.True(code == 1, $"exit {code}:\n{failed}");
        Assert.Contains($"raftkv watch: watch canceled: revision {from} was compacted", failed, StringComparison.Ordinal);
        Assert.Contains($"resume with --rev {compactedAt}", failed, StringComparison.Ordinal);
        Assert.Equal(0, (await RaftKvBinary.RunAsync(["watch", "cliw/k", "--rev", compactedAt.ToString(CultureInfo.InvariantCulture),
            "--max-events", "1", "--endpoints", Endpoints], Bound)).ExitCode);
    }

    [Fact]
    public async Task Watch_ProgressNotify_PrintsTheRevisionWhileNothingChanges()
    {
        await using var single = ProcessCluster.Create(1, "cli-progress");
        var member = single.Members[0];
        member.ExtraArgs = [.. member.ExtraArgs, "--experimental-watch-progress-notify-interval", "500ms"];
        member.Start();
        await single.WaitForLeaderAsync();
        // --max-events 1 ends the watch at the first event; progress notifications (one every 500 ms) come before it.
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var watch = RaftKvBinary.Start(["watch", "quiet", "--progress-notify", "--max-events", "1", "--endpoints", single.ClientEndpoints],
            output, exitOnStdinEof: false);
        await Poll.UntilAsync(() => Task.FromResult(output.Count(l => l.StartsWith("progress notify: ", StringComparison.Ordinal)) >= 2),
            Bound, "two progress notifications", () => string.Join('\n', output));
        Assert.All(output.Where(l => l.StartsWith("progress notify: ", StringComparison.Ordinal)),
            l => Assert.True(long.Parse(l["progress notify: ".Length..], CultureInfo.InvariantCulture) >= 1, l));
        await Ok("put", "quiet", "at last", "--endpoints", single.ClientEndpoints);
        using var exit = new CancellationTokenSource(Bound);
        await watch.WaitForExitAsync(exit.Token);
        watch.WaitForExit();
        Assert.True(watch.ExitCode == 0, string.Join('\n', output));
        Assert.Contains("PUT quiet at last", output);
    }

    [EtcdServerFact]
    public async Task TheSameCommands_WorkAgainstEtcd()
    {
        await using var etcd = EtcdProcess.Start();
        var endpoint = etcd.ClientUrl;
        await Poll.UntilAsync(async () => (await RaftKvBinary.RunAsync(["status", "--endpoints", endpoint], Bound)).ExitCode == 0,
            TimeSpan.FromSeconds(20), "etcd answering", () => etcd.OutputTail);
        Assert.Equal("OK", (await Ok("put", "cli-etcd/k", "v", "--endpoints", endpoint)).Trim());
        using var json = JsonDocument.Parse(await Ok("get", "cli-etcd/", "--prefix", "-o", "json", "--endpoints", endpoint));
        Assert.Equal("v", json.RootElement.GetProperty("kvs")[0].GetProperty("value").GetString());
        Assert.Contains(" leader ", await Ok("status", "--endpoints", endpoint), StringComparison.Ordinal);
        Assert.Equal("1", (await Ok("del", "cli-etcd/k", "--endpoints", endpoint)).Trim());
    }

    [EtcdServerFact]
    public async Task Watch_PrintsChangesAsTheyHappen_AgainstEtcd()
    {
        // The command speaks the etcd API: the same watch works against etcd.
        await using var etcd = EtcdProcess.Start();
        var endpoint = etcd.ClientUrl;
        await Poll.UntilAsync(async () => (await RaftKvBinary.RunAsync(["status", "--endpoints", endpoint], Bound)).ExitCode == 0,
            TimeSpan.FromSeconds(20), "etcd answering", () => etcd.OutputTail);
        var watch = RaftKvBinary.RunAsync(["watch", "w/", "--prefix", "--max-events", "2", "--endpoints", endpoint], Bound);
        // The watch starts at "now": keep writing until it has seen two events (bounded by the watch's own timeout).
        for (var i = 0; i < 200 && !watch.IsCompleted; i++)
        {
            await Ok("put", $"w/{i}", $"v{i}", "--endpoints", endpoint);
        }
        var (code, output) = await watch;
        Assert.True(code == 0, output);
        Assert.Matches(@"PUT w/\d+ v\d+", output);
    }
}
