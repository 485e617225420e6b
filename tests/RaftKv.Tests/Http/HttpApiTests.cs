using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Http;

/// <summary>The JSON API on the HTTP port of a real 3-member cluster: status, members, key-value round trips, errors.</summary>
[Collection(HttpCollection.Name)]
public sealed class HttpApiTests(FaultClusterFixture fixture) : IClassFixture<FaultClusterFixture>
{
    private ProcessCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Status_AndCluster_ListALearnerAddedWithMemberAdd_WithItsRoleAndCatchUp_AndDropItAfterMemberRemove()
    {
        var leader = await Cluster.WaitForLeaderAsync();
        var unusedPeerUrl = $"http://127.0.0.1:{FreePorts.Next()}";
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(Cluster.Members.First(m => m != leader).ClientUrl);
        var clusterClient = new RaftKv.Etcd.Api.Cluster.ClusterClient(channel);
        var added = await clusterClient.MemberAddAsync(new RaftKv.Etcd.Api.MemberAddRequest { PeerURLs = { unusedPeerUrl }, IsLearner = true },
            deadline: DateTime.UtcNow.AddSeconds(15));
        var id = added.Member.ID.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        var removed = false;
        try
        {
            static JsonElement? Entry(JsonElement status, string id) =>
                status.GetProperty("members").EnumerateArray().Cast<JsonElement?>().FirstOrDefault(m => m!.Value.Str("id") == id);

            // Every member lists it once it has applied the change: a learner, not started, with its peer URL.
            foreach (var m in Cluster.Members)
            {
                var entry = await Poll.UntilAsync(async () => Entry((await HttpJson.GetAsync($"{m.HttpUrl}/v1/status")).Body, id),
                    TimeSpan.FromSeconds(20), $"{m.Name} to list learner {id}") ?? default;
                Assert.Equal("learner", entry.Str("role"));
                Assert.False(entry.GetProperty("started").GetBoolean());
                Assert.Equal(unusedPeerUrl, entry.GetProperty("peerUrls")[0].GetString());
                if (m == leader)
                {
                    // On the leader: the learner's catch-up (it never answered, so it has nothing and is not ready).
                    var catchUp = entry.GetProperty("catchUp");
                    Assert.Equal(0, catchUp.Num("match"));
                    Assert.True(catchUp.Num("leaderLastIndex") > 0);
                    Assert.Equal(catchUp.Num("leaderLastIndex"), catchUp.Num("behind"));
                    Assert.False(catchUp.GetProperty("readyToPromote").GetBoolean());
                }
                else
                {
                    Assert.Equal(JsonValueKind.Null, entry.GetProperty("catchUp").ValueKind);
                }
            }
            var (_, status, statusText) = await HttpJson.GetAsync($"{leader.HttpUrl}/v1/status");
            var byName = status.GetProperty("members").EnumerateArray().ToDictionary(x => x.Str("name"), x => x.Str("role"));
            Assert.All(Cluster.Members, m => Assert.True(byName.GetValueOrDefault(m.Name) == "voter", statusText));
            Assert.Contains(status.GetProperty("followers").EnumerateArray(), f => f.Str("id") == id && f.GetProperty("isLearner").GetBoolean());

            // The dashboard's view: the learner is a member that does not answer; the first members are voters.
            var member = await Poll.UntilAsync(async () =>
            {
                var (_, cluster, _) = await HttpJson.GetAsync($"{Cluster.Members[0].HttpUrl}/v1/cluster");
                return cluster.GetProperty("members").EnumerateArray().Cast<JsonElement?>().FirstOrDefault(x => x!.Value.Str("id") == id);
            }, TimeSpan.FromSeconds(10), $"/v1/cluster to list learner {id}") ?? default;
            Assert.Equal("learner", member.Str("config"));
            Assert.False(member.GetProperty("reachable").GetBoolean());
            // /v1/members answers from the watcher's latest poll, which may predate the change: poll.
            await Poll.UntilAsync(async () => (await HttpJson.GetAsync($"{leader.HttpUrl}/v1/members")).Body.GetProperty("members").EnumerateArray()
                .Any(x => x.Str("id") == id && x.Str("config") == "learner"), TimeSpan.FromSeconds(10), $"/v1/members to list learner {id}");

            await clusterClient.MemberRemoveAsync(new RaftKv.Etcd.Api.MemberRemoveRequest { ID = added.Member.ID }, deadline: DateTime.UtcNow.AddSeconds(15));
            removed = true;
            foreach (var m in Cluster.Members)
            {
                await Poll.UntilAsync(async () => Entry((await HttpJson.GetAsync($"{m.HttpUrl}/v1/status")).Body, id) is null,
                    TimeSpan.FromSeconds(20), $"{m.Name} to drop removed learner {id}");
            }
            await Poll.UntilAsync(async () => (await HttpJson.GetAsync($"{leader.HttpUrl}/v1/members")).Body.GetProperty("members").GetArrayLength() == Cluster.Members.Count,
                TimeSpan.FromSeconds(10), "/v1/members to drop the removed learner");
        }
        finally
        {
            if (!removed)
            {
                await clusterClient.MemberRemoveAsync(new RaftKv.Etcd.Api.MemberRemoveRequest { ID = added.Member.ID }, deadline: DateTime.UtcNow.AddSeconds(15));
            }
        }
    }

    [Fact]
    public async Task Status_IsTheRaftStateOfTheMember_AndMembersListsEveryoneWithTheirUrls()
    {
        var leader = await Cluster.WaitForLeaderAsync();
        foreach (var m in Cluster.Members)
        {
            var (code, status, text) = await HttpJson.GetAsync($"{m.HttpUrl}/v1/status");
            Assert.True(code == 200, text);
            Assert.Equal(m.Name, status.Str("name"));
            Assert.Equal(leader.Name, status.Str("leaderName"));
            Assert.Equal(m == leader ? "leader" : "follower", status.Str("role"));
            Assert.True(status.Num("term") >= 1);
            Assert.True(status.Num("lastIndex") >= status.Num("commit") && status.Num("commit") >= status.Num("applied"), text);
            Assert.Equal(m == leader ? 2 : 0, status.GetProperty("followers").GetArrayLength());
        }

        // /v1/members answers from the cluster watcher's latest poll (at most one poll interval old), which may
        // predate the election the wait above saw: poll until it shows the leader.
        (int Status, System.Text.Json.JsonElement Body, string Text) reply = default;
        await Poll.UntilAsync(async () =>
        {
            reply = await HttpJson.GetAsync($"{Cluster.Members[0].HttpUrl}/v1/members");
            return reply.Status == 200 && reply.Body.Str("leader") == leader.Name;
        }, TimeSpan.FromSeconds(10), "/v1/members naming the leader", Cluster.Diagnostics);
        var (membersCode, members, membersText) = reply;
        Assert.True(membersCode == 200, membersText);
        Assert.True(leader.Name == members.Str("leader"), membersText);
        var list = members.GetProperty("members").EnumerateArray().ToArray();
        Assert.Equal(Cluster.Members.Select(m => m.Name), list.Select(m => m.Str("name")));
        foreach (var (m, json) in Cluster.Members.Zip(list))
        {
            Assert.True(json.GetProperty("reachable").GetBoolean(), membersText);
            Assert.Equal(m.HttpUrl, json.GetProperty("httpUrls")[0].GetString());
            Assert.Equal(m.ClientUrl, json.GetProperty("clientUrls")[0].GetString());
            Assert.Equal(m == leader, json.GetProperty("isLeader").GetBoolean());
        }
    }

    [Fact]
    public async Task Kv_PutOnAFollower_ReadsFromEveryMember_PrefixListing_Delete()
    {
        var leader = await Cluster.WaitForLeaderAsync();
        var follower = Cluster.Members.First(m => m != leader);
        var (putCode, put, putText) = await HttpJson.PutAsync($"{follower.HttpUrl}/v1/kv/api/a", "one");
        Assert.True(putCode == 200, putText);
        Assert.Equal(leader.Name, put.Str("leader"));
        Assert.Equal(follower.Name, put.Str("member"));
        var revision = put.Num("revision");
        Assert.True(revision > 1);
        Assert.Equal(200, (await HttpJson.PutAsync($"{leader.HttpUrl}/v1/kv/api/b%2Fslash", "two")).Status);
        Assert.Equal(200, (await HttpJson.PutAsync($"{leader.HttpUrl}/v1/kv/api/c", "")).Status);

        foreach (var m in Cluster.Members)
        {
            var (code, got, text) = await HttpJson.GetAsync($"{m.HttpUrl}/v1/kv/api/a");
            Assert.True(code == 200, text);
            Assert.Equal("linearizable", got.Str("consistency"));
            Assert.Equal(leader.Name, got.Str("leader"));
            var kv = Assert.Single(got.GetProperty("kvs").EnumerateArray());
            Assert.Equal("api/a", kv.Str("key"));
            Assert.Equal("one", kv.Str("value"));
            Assert.Equal(revision, kv.Num("modRevision"));
            Assert.True(got.Num("revision") >= revision);
        }
        // Serializable reads are local: poll until the member has applied the write.
        await Poll.UntilAsync(async () => (await HttpJson.GetAsync($"{follower.HttpUrl}/v1/kv/api/c?consistency=serializable")).Status == 200,
            TimeSpan.FromSeconds(10), "a serializable read of api/c");

        var (listCode, list, listText) = await HttpJson.GetAsync($"{follower.HttpUrl}/v1/kv/api/?prefix=true");
        Assert.True(listCode == 200, listText);
        Assert.Equal(["api/a", "api/b/slash", "api/c"], list.GetProperty("kvs").EnumerateArray().Select(k => k.Str("key")).ToArray());
        Assert.Equal(3, list.Num("count"));
        var (limitCode, limited, _) = await HttpJson.GetAsync($"{follower.HttpUrl}/v1/kv/api/?prefix=true&limit=2");
        Assert.Equal(200, limitCode);
        Assert.Equal(2, limited.GetProperty("kvs").GetArrayLength());
        Assert.True(limited.GetProperty("more").GetBoolean());

        var (delCode, deleted, delText) = await HttpJson.DeleteAsync($"{follower.HttpUrl}/v1/kv/api/a");
        Assert.True(delCode == 200, delText);
        Assert.Equal(1, deleted.Num("deleted"));
        var (missingCode, missing, _) = await HttpJson.GetAsync($"{leader.HttpUrl}/v1/kv/api/a");
        Assert.Equal(404, missingCode);
        Assert.Contains("not found", missing.Str("error"), StringComparison.Ordinal);
        Assert.Equal(leader.Name, missing.Str("leader"));

        var (prefixDelCode, prefixDeleted, _) = await HttpJson.DeleteAsync($"{leader.HttpUrl}/v1/kv/api/?prefix=true");
        Assert.Equal(200, prefixDelCode);
        Assert.Equal(2, prefixDeleted.Num("deleted"));
    }

    [Fact]
    public async Task Kv_NonUtf8Value_IsReturnedAsBase64()
    {
        var m = Cluster.Members[0];
        using var content = new ByteArrayContent([0xff, 0x00, 0x41]);
        using var response = await HttpJson.Client.PutAsync($"{m.HttpUrl}/v1/kv/api-binary", content);
        Assert.Equal(200, (int)response.StatusCode);
        var (code, got, _) = await HttpJson.GetAsync($"{m.HttpUrl}/v1/kv/api-binary");
        Assert.Equal(200, code);
        var kv = got.GetProperty("kvs")[0];
        Assert.Equal(JsonValueKind.Null, kv.GetProperty("value").ValueKind);
        Assert.Equal(Convert.ToBase64String([0xff, 0x00, 0x41]), kv.Str("valueBase64"));
    }

    [Theory]
    [InlineData("GET", "/v1/nope", null, 404, "no such endpoint")]
    [InlineData("GET", "/v1/kv/", null, 400, "give a key")]
    [InlineData("PUT", "/v1/kv/", "x", 400, "give a key")]
    [InlineData("DELETE", "/v1/kv/", null, 400, "give a key")]
    [InlineData("POST", "/v1/kv/k", "x", 405, "use GET, PUT or DELETE")]
    [InlineData("GET", "/v1/kv/k?consistency=eventual", null, 400, "linearizable or serializable")]
    [InlineData("GET", "/v1/kv/k?prefix=maybe", null, 400, "prefix must be true or false")]
    [InlineData("GET", "/v1/kv/k?limit=0", null, 400, "limit must be")]
    [InlineData("GET", "/v1/kv/k?colour=red", null, 400, "unknown query parameter 'colour'")]
    [InlineData("PUT", "/v1/kv/k?prefix=true", "x", 400, "takes no query parameters")]
    [InlineData("POST", "/v1/fault/explode", null, 404, "unknown fault action 'explode'")]
    [InlineData("POST", "/v1/fault/pause?member=Z", null, 404, "no member named 'Z'")]
    [InlineData("POST", "/v1/fault/pause?ms=5", null, 400, "ms must be between")]
    [InlineData("POST", "/v1/fault/pause?ms=soon", null, 400, "ms must be a number")]
    [InlineData("GET", "/v1/fault/stop", null, 405, "use POST")]
    public async Task BadPathsAndParameters_Give4xxWithAMessage(string method, string path, string? body, int status, string message)
    {
        var (code, json, text) = await HttpJson.SendAsync(new HttpMethod(method), Cluster.Members[1].HttpUrl + path, body);
        Assert.True(code == status, $"{method} {path}: {code} {text}");
        Assert.Contains(message, json.Str("error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooLargeValue_Is413()
    {
        var (code, json, _) = await HttpJson.PutAsync($"{Cluster.Members[0].HttpUrl}/v1/kv/big", new string('x', 1_572_864 + 1));
        Assert.Equal(413, code);
        Assert.Contains("--max-request-bytes", json.Str("error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CrossOriginWrites_FromAPageOutsideTheCluster_AreRefused()
    {
        var m = Cluster.Members[0];
        var evil = new Dictionary<string, string> { ["Origin"] = "http://evil.example" };
        var (code, json, _) = await HttpJson.SendAsync(HttpMethod.Put, $"{m.HttpUrl}/v1/kv/csrf", "x", evil);
        Assert.Equal(403, code);
        Assert.Contains("may not change anything", json.Str("error"), StringComparison.Ordinal);
        Assert.Equal(403, (await HttpJson.SendAsync(HttpMethod.Post, $"{m.HttpUrl}/v1/fault/stop", "", evil)).Status);
        // Another member's dashboard may act here (it switches members when its own goes down).
        var sibling = new Dictionary<string, string> { ["Origin"] = Cluster.Members[1].HttpUrl };
        await Poll.UntilAsync(async () => (await HttpJson.SendAsync(HttpMethod.Put, $"{m.HttpUrl}/v1/kv/cors", "x", sibling)).Status == 200,
            TimeSpan.FromSeconds(15), "a write from a sibling member's origin to be allowed");
    }

    [Fact]
    public async Task Events_StreamsClusterSnapshots()
    {
        var m = Cluster.Members[2];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await HttpJson.Client.GetAsync($"{m.HttpUrl}/v1/events", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        // Events keep coming; the first may precede this member learning the leader (e.g. right after an election).
        JsonDocument? snapshot = null;
        string? line;
        while ((line = await reader.ReadLineAsync(cts.Token)) is not null)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            snapshot?.Dispose();
            snapshot = JsonDocument.Parse(line["data: ".Length..]);
            // Under load the leader may be known before its election reaches the timeline (CI saw only the startup
            // configuration changes there): wait, within the token, for a snapshot that has both.
            if (!string.IsNullOrEmpty(snapshot.RootElement.Str("leader"))
                && snapshot.RootElement.GetProperty("timeline").EnumerateArray().Any(e => e.Str("kind") == "becameleader")) break;
        }
        Assert.NotNull(snapshot);
        using var _ = snapshot;
        var root = snapshot.RootElement;
        Assert.Equal(m.Name, root.Str("servedBy"));
        Assert.Equal(3, root.GetProperty("members").GetArrayLength());
        Assert.True(root.GetProperty("faultInjection").GetBoolean());
        Assert.False(string.IsNullOrEmpty(root.Str("leader")), "no event named a leader within 15 s");
        Assert.Contains(root.GetProperty("timeline").EnumerateArray(), e => e.Str("kind") == "becameleader");
    }

    [Fact]
    public async Task Cluster_ShowsEachMembersWatchers_AndTheLeasesWithTheirTtlsAndKeys()
    {
        var leader = await Cluster.WaitForLeaderAsync();
        var follower = Cluster.Members.First(m => m != leader);
        using var client = new EtcdClient(follower.ClientUrl);
        var lease = await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 120 });
        await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("dash/leased"), Value = ByteString.CopyFromUtf8("v"), Lease = lease.ID });
        await using var watch = WatchProbe.Open(follower.ClientUrl);
        await watch.CreateAsync(new WatchCreateRequest { Key = ByteString.CopyFromUtf8("dash/"), RangeEnd = ByteString.CopyFromUtf8("dash0") });
        Assert.True((await watch.TakeAsync(1, TimeSpan.FromSeconds(15)))[0].Created);
        await client.PutAsync("dash/watched", "w");
        await watch.TakeAsync(1, TimeSpan.FromSeconds(15));

        var id = lease.ID.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        JsonElement View(JsonElement cluster, string name) =>
            cluster.GetProperty("members").EnumerateArray().Single(m => m.Str("name") == name).GetProperty("view");
        var text = "";
        // Snapshots are up to 500 ms old, and each member's counters are its own: wait until the one from the leader's HTTP port shows both.
        var snapshot = await Poll.UntilAsync<JsonElement?>(async () =>
        {
            var (code, json, body) = await HttpJson.GetAsync($"{leader.HttpUrl}/v1/cluster");
            text = body;
            return code == 200 && View(json, follower.Name).GetProperty("watch").Num("eventsSent") >= 1
                && View(json, leader.Name).GetProperty("leases").GetProperty("shown").EnumerateArray().Any(l => l.Str("id") == id) ? json : null;
        }, TimeSpan.FromSeconds(20), "the watch and the lease in /v1/cluster", () => text);

        foreach (var m in Cluster.Members)
        {
            var view = View(snapshot!.Value, m.Name);
            var w = view.GetProperty("watch");
            Assert.True((m == follower ? 1 : 0) == w.Num("watchers"), $"{m.Name}: {w}");
            Assert.True((m == follower ? 1 : 0) == w.Num("streams"), $"{m.Name}: {w}");
            var leases = view.GetProperty("leases");
            Assert.Equal(m == leader, leases.GetProperty("onLeader").GetBoolean());
            if (m != leader) continue; // followers may not have applied the grant yet
            Assert.True(leases.Num("count") >= 1, leases.ToString());
            var row = leases.GetProperty("shown").EnumerateArray().Single(l => l.Str("id") == id);
            Assert.Equal(120, row.Num("grantedTtl"));
            Assert.InRange(row.Num("remainingTtl"), 100, 120);
            Assert.Equal(1, row.Num("keys"));
            Assert.False(row.GetProperty("keysMore").GetBoolean());
            var calls = view.GetProperty("concurrency");
            Assert.Equal(0, calls.Num("waiters"));
            Assert.True(calls.Num("waitersMax") > 0);
        }
        // A follower's clock has no deadlines: it shows the lease without a remaining TTL.
        await Poll.UntilAsync(async () =>
        {
            var (_, json, body) = await HttpJson.GetAsync($"{follower.HttpUrl}/v1/cluster");
            text = body;
            return View(json, follower.Name).GetProperty("leases").GetProperty("shown").EnumerateArray()
                .Any(l => l.Str("id") == id && l.GetProperty("remainingTtl").ValueKind == JsonValueKind.Null && l.Num("keys") == 1);
        }, TimeSpan.FromSeconds(20), "the lease on the follower, without a remaining TTL", () => text);
        await client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease.ID });
    }

    [Fact]
    public async Task Version_IsEtcdsShape_WithTheVersionStatusReports()
    {
        var (code, json, text) = await HttpJson.GetAsync($"{Cluster.Members[0].HttpUrl}/version");
        Assert.True(code == 200, text);
        Assert.Equal("3.5.17", json.Str("etcdserver"));
        Assert.Equal("3.5.0", json.Str("etcdcluster"));
        using var client = new EtcdClient(Cluster.Members[0].ClientUrl);
        Assert.Equal("3.5.17", (await client.StatusAsync(new StatusRequest())).Version);
    }

    [Fact]
    public async Task Dashboard_IsServedFromTheBinary()
    {
        var (code, _, page) = await HttpJson.GetAsync(Cluster.Members[0].HttpUrl + "/");
        Assert.Equal(200, code);
        Assert.Contains("<script src=\"/dashboard.js\">", page, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", page, StringComparison.Ordinal); // no CDN
        Assert.Equal(200, (await HttpJson.GetAsync(Cluster.Members[0].HttpUrl + "/dashboard.js")).Status);
        Assert.Equal(200, (await HttpJson.GetAsync(Cluster.Members[0].HttpUrl + "/dashboard.css")).Status);
    }
}
