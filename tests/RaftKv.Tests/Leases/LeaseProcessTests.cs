using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Leases;

/// <summary>
/// Leases on a real 3-member cluster of the raftkv binary: etcdctl's lease commands, dotnet-etcd's lease calls, and
/// expiry decided by the leader alone and applied through the log, so a lease's keys vanish on every member once its
/// TTL has run out, never before, a leader kill included (the new leader restarts the countdown, as etcd's does).
/// </summary>
public sealed partial class LeaseProcessTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private async Task<string> Etcdctl(params string[] args)
    {
        var (code, output) = await ExternalTools.RunAsync("etcdctl", ["--endpoints=" + fixture.Cluster.ClientEndpoints, .. args], Bound,
            environment: new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        Assert.True(code == 0, $"etcdctl {string.Join(' ', args)} failed ({code}):\n{output}");
        return output;
    }

    [GeneratedRegex("lease ([0-9a-f]+) granted with TTL\\((\\d+)s\\)")]
    private static partial Regex Granted();

    [EtcdctlFact]
    public async Task Etcdctl_GrantPutTimeToLiveKeepAliveListRevoke()
    {
        var granted = Granted().Match(await Etcdctl("lease", "grant", "60"));
        Assert.True(granted.Success);
        var id = granted.Groups[1].Value;
        Assert.Equal("60", granted.Groups[2].Value);

        Assert.Equal("OK", (await Etcdctl("put", "--lease=" + id, "ctllease/k", "v")).Trim());
        var ttl = await Etcdctl("lease", "timetolive", id, "--keys");
        Assert.Matches($"lease {id} granted with TTL\\(60s\\), remaining\\((5\\d|60)s\\), attached keys\\(\\[ctllease/k\\]\\)", ttl);
        Assert.Contains($"lease {id} keepalived with TTL(60)", await Etcdctl("lease", "keep-alive", "--once", id), StringComparison.Ordinal);
        Assert.Contains(id, await Etcdctl("lease", "list"), StringComparison.Ordinal);

        Assert.Contains($"lease {id} revoked", await Etcdctl("lease", "revoke", id), StringComparison.Ordinal);
        Assert.Equal("", (await Etcdctl("get", "ctllease/k")).Trim());
        Assert.Contains("already expired", await Etcdctl("lease", "timetolive", id), StringComparison.Ordinal);
        var (code, output) = await ExternalTools.RunAsync("etcdctl", ["--endpoints=" + fixture.Cluster.ClientEndpoints, "put", "--lease=" + id, "ctllease/k", "v"], Bound,
            environment: new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        Assert.NotEqual(0, code);
        Assert.Contains("requested lease not found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DotnetEtcd_GrantTimeToLiveLeasesKeepAliveRevoke_OnAFollower()
    {
        var leader = await fixture.Cluster.WaitForLeaderAsync();
        var follower = fixture.Cluster.Members.First(m => m.Name != leader.Name);
        using var client = new EtcdClient(follower.ClientUrl);
        var grant = await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 30 });
        Assert.NotEqual(0, grant.ID);
        Assert.Equal(30, grant.TTL);
        await client.PutAsync(new PutRequest { Key = B("netlease/a"), Value = B("1"), Lease = grant.ID });
        Assert.Equal(grant.ID, (await client.GetAsync("netlease/a")).Kvs[0].Lease);

        // Time to live and keep-alive are the leader's to answer: asked of a follower, they are forwarded to it.
        var ttl = await client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = grant.ID, Keys = true });
        Assert.Equal((30L, 1), (ttl.GrantedTTL, ttl.Keys.Count));
        Assert.InRange(ttl.TTL, 25, 30);
        Assert.Contains((await client.LeaseLeasesAsync(new LeaseLeasesRequest())).Leases, l => l.ID == grant.ID);
        var lease = new Lease.LeaseClient(Grpc.Net.Client.GrpcChannel.ForAddress(follower.ClientUrl));
        using (var stream = lease.LeaseKeepAlive())
        {
            await stream.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = grant.ID });
            Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal((grant.ID, 30L), (stream.ResponseStream.Current.ID, stream.ResponseStream.Current.TTL));
            await stream.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = 12345 }); // unknown: TTL 0, as etcd answers
            Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(0, stream.ResponseStream.Current.TTL);
            await stream.RequestStream.CompleteAsync();
        }

        await client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = grant.ID });
        Assert.Empty((await client.GetAsync("netlease/a")).Kvs);
        var again = await Assert.ThrowsAsync<RpcException>(() => client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = grant.ID }));
        Assert.Equal((StatusCode.NotFound, "etcdserver: requested lease not found"), (again.StatusCode, again.Status.Detail));
        Assert.Equal(-1, (await client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = grant.ID })).TTL);
    }

    [Fact]
    public async Task RaftkvLeaseCommands_GrantTtlKeepAliveListRevoke()
    {
        async Task<string> Cli(params string[] args)
        {
            var (code, output) = await RaftKvBinary.RunAsync(["lease", .. args, "--endpoints", fixture.Cluster.ClientEndpoints], Bound);
            Assert.True(code == 0, $"raftkv lease {string.Join(' ', args)} exited {code}:\n{output}");
            return output;
        }

        using var json = System.Text.Json.JsonDocument.Parse(await Cli("grant", "30", "-o", "json"));
        var hex = json.RootElement.GetProperty("id").GetString()!;
        Assert.Equal(30, json.RootElement.GetProperty("ttl").GetInt64());
        var id = long.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        using (var client = new EtcdClient(fixture.Cluster.Members[0].ClientUrl))
        {
            await client.PutAsync(new PutRequest { Key = B("clilease/k"), Value = B("v"), Lease = id });
        }

        Assert.Contains("clilease/k", await Cli("ttl", hex, "--keys"), StringComparison.Ordinal);
        var renewals = (await Cli("keep-alive", hex, "--count", "2")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, renewals.Count(l => l.Contains($"lease {hex} keepalived with TTL(30)", StringComparison.Ordinal)));
        Assert.Contains(hex, await Cli("list"), StringComparison.Ordinal);
        Assert.Contains($"lease {hex} revoked", await Cli("revoke", hex), StringComparison.Ordinal);
        Assert.Contains("already expired", await Cli("ttl", hex), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeepAlivesThroughAFollowerKeepALeasePastItsTtl()
    {
        var leader = await fixture.Cluster.WaitForLeaderAsync();
        var follower = fixture.Cluster.Members.First(m => m.Name != leader.Name);
        using var client = new EtcdClient(follower.ClientUrl);
        var grant = await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 2 });
        await client.PutAsync(new PutRequest { Key = B("kalease/k"), Value = B("1"), Lease = grant.ID });
        var lease = new Lease.LeaseClient(Grpc.Net.Client.GrpcChannel.ForAddress(follower.ClientUrl));
        using (var stream = lease.LeaseKeepAlive())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(5)) // 2.5 TTLs
            {
                await stream.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = grant.ID });
                Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
                Assert.Equal(2, stream.ResponseStream.Current.TTL);
                Assert.Single((await client.GetAsync("kalease/k")).Kvs);
                await Task.Delay(500);
            }

            await stream.RequestStream.CompleteAsync();
        }

        await Poll.UntilAsync(async () => (await client.GetAsync("kalease/k")).Kvs.Count == 0, TimeSpan.FromSeconds(20),
            "the key vanishing once keep-alives stopped", fixture.Cluster.Diagnostics);
    }

    /// <summary>
    /// The test: the keys of an expired lease vanish on every member, and not before the TTL; with the leader
    /// killed a second after the grant, the new leader starts the countdown again at the full TTL (etcd's Promote),
    /// so the keys outlive the TTL counted from the grant and still vanish, everywhere, within a bound.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnExpiredLeasesKeysVanishOnEveryMemberAfterItsTtl(bool killLeader)
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        const long TtlSeconds = 4;
        var clients = cluster.Members.ToDictionary(m => m.Name, m => new EtcdClient(m.ClientUrl));
        try
        {
            var clock = Stopwatch.StartNew();
            var grant = await clients[leader.Name].LeaseGrantAsync(new LeaseGrantRequest { TTL = TtlSeconds });
            await clients[leader.Name].PutAsync(new PutRequest { Key = B("expiry/k"), Value = B("1"), Lease = grant.ID });
            var survivors = cluster.Members.Where(m => !killLeader || m.Name != leader.Name).ToArray();
            if (killLeader)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                leader.Kill();
                await cluster.WaitForLeaderAsync(also: s => s.Name != leader.Name);
            }

            // Every surviving member sees the key until the TTL has passed, counted from before the grant was sent.
            var gone = new Dictionary<string, TimeSpan>();
            await Poll.UntilAsync(async () =>
            {
                foreach (var member in survivors)
                {
                    if (gone.ContainsKey(member.Name)) continue;
                    var kvs = (await clients[member.Name].GetAsync(new RangeRequest { Key = B("expiry/k"), Serializable = true })).Kvs;
                    if (kvs.Count == 0) gone[member.Name] = clock.Elapsed;
                }
                return gone.Count == survivors.Length;
            }, TimeSpan.FromSeconds(TtlSeconds + 25), "the lease's key vanishing on every member", cluster.Diagnostics);
            Assert.All(gone.Values, at => Assert.True(at >= TimeSpan.FromSeconds(TtlSeconds), $"gone after {at}, before the {TtlSeconds} s TTL"));
            Assert.Equal(-1, (await clients[survivors[0].Name].LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = grant.ID })).TTL);
        }
        finally
        {
            foreach (var client in clients.Values) client.Dispose();
        }
    }
}
