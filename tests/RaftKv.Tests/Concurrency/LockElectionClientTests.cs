using System.Globalization;
using System.Threading.Channels;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;
using V3Electionpb;
using V3Lockpb;

namespace RaftKv.Tests.Concurrency;

/// <summary>
/// dotnet-etcd's lock and election calls, which use the server-side v3lockpb and v3electionpb services, against a
/// 3-member raftkv cluster; calls go to a follower, so writes are forwarded and waits run on the follower's own
/// change stream.
/// </summary>
public sealed class LockElectionClientTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private static string Hex(long lease) => lease.ToString("x", CultureInfo.InvariantCulture);

    private async Task<EtcdClient> FollowerClientAsync()
    {
        var leader = await fixture.Cluster.WaitForLeaderAsync();
        return new EtcdClient(fixture.Cluster.Members.First(m => m.Name != leader.Name).ClientUrl);
    }

    private static async Task<long> GrantAsync(EtcdClient client, long ttlSeconds = 30) =>
        (await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = ttlSeconds })).ID;

    private Task WaitForKeyAsync(EtcdClient client, string key, bool present) =>
        Poll.UntilAsync(async () => (await client.GetAsync(key)).Kvs.Count == (present ? 1 : 0), Bound, $"{key} {(present ? "to appear" : "to vanish")}",
            fixture.Cluster.Diagnostics);

    [Fact]
    public async Task Lock_WaitsUntilTheHolderUnlocks_AndIsReentrantForItsLease()
    {
        using var client = await FollowerClientAsync();
        var (first, second) = (await GrantAsync(client), await GrantAsync(client));
        var held = await client.LockAsync("netlock", first);
        Assert.Equal($"netlock/{Hex(first)}", held.Key.ToStringUtf8());
        Assert.True(held.Header.Revision > 0);
        Assert.Equal(held.Key, (await client.LockAsync("netlock", first)).Key); // the same lease: the same acquisition

        var waiting = client.LockAsync("netlock", second);
        await WaitForKeyAsync(client, $"netlock/{Hex(second)}", present: true);
        Assert.False(waiting.IsCompleted, "the second lease got the lock while the first held it");
        var unlocked = await client.UnlockAsync(held.Key.ToStringUtf8());
        var acquired = await waiting.WaitAsync(Bound);
        Assert.Equal($"netlock/{Hex(second)}", acquired.Key.ToStringUtf8());
        Assert.True(acquired.Header.Revision >= unlocked.Header.Revision);
        await client.UnlockAsync(acquired.Key.ToStringUtf8());
        Assert.Empty((await client.GetRangeAsync("netlock/")).Kvs);
    }

    [Fact]
    public async Task Lock_AWaiterThatGivesUpLeavesNoKey_AndOneWhoseLeaseIsRevokedFails()
    {
        using var client = await FollowerClientAsync();
        var (holder, quitter, revoked) = (await GrantAsync(client), await GrantAsync(client), await GrantAsync(client));
        var held = await client.LockAsync("netlockq", holder);

        using (var cancel = new CancellationTokenSource())
        {
            var giving = client.LockAsync("netlockq", quitter, cancellationToken: cancel.Token);
            await WaitForKeyAsync(client, $"netlockq/{Hex(quitter)}", present: true);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => giving);
            await WaitForKeyAsync(client, $"netlockq/{Hex(quitter)}", present: false); // the server deleted it
        }

        var doomed = client.LockAsync("netlockq", revoked);
        await WaitForKeyAsync(client, $"netlockq/{Hex(revoked)}", present: true);
        await client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = revoked });
        var failure = await Assert.ThrowsAsync<RpcException>(() => doomed.WaitAsync(Bound));
        Assert.Equal((StatusCode.Unknown, "mutex: session is expired"), (failure.StatusCode, failure.Status.Detail));

        await client.UnlockAsync(held.Key.ToStringUtf8());
        Assert.Empty((await client.GetRangeAsync("netlockq/")).Kvs);
    }

    [Fact]
    public async Task Lock_WithoutALease_GetsASixtySecondLeaseOfItsOwn()
    {
        using var client = await FollowerClientAsync();
        var held = await client.LockAsync(new LockRequest { Name = B("netlock0") });
        var kv = Assert.Single((await client.GetAsync(held.Key.ToStringUtf8())).Kvs);
        Assert.NotEqual(0, kv.Lease);
        Assert.Equal($"netlock0/{Hex(kv.Lease)}", held.Key.ToStringUtf8());
        Assert.Equal(60, (await client.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = kv.Lease })).GrantedTTL);
        await client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = kv.Lease });
    }

    [Fact]
    public async Task Election_CampaignProclaimLeaderObserveResign()
    {
        using var client = await FollowerClientAsync();
        var (first, second) = (await GrantAsync(client), await GrantAsync(client));
        var none = await Assert.ThrowsAsync<RpcException>(() => client.LeaderAsync("netelect"));
        Assert.Equal((StatusCode.Unknown, "election: no leader"), (none.StatusCode, none.Status.Detail));

        using var observing = new CancellationTokenSource();
        var observed = Channel.CreateUnbounded<string>();
        var observer = Task.Run(async () =>
        {
            await foreach (var change in client.ObserveAsync("netelect", cancellationToken: observing.Token))
                await observed.Writer.WriteAsync($"{change.Kv.Key.ToStringUtf8()}={change.Kv.Value.ToStringUtf8()}");
        });
        async Task<string> NextObservedAsync()
        {
            using var timeout = new CancellationTokenSource(Bound);
            return await observed.Reader.ReadAsync(timeout.Token);
        }

        var elected = await client.CampaignAsync("netelect", first, "one");
        Assert.Equal(new LeaderKey { Name = B("netelect"), Key = B($"netelect/{Hex(first)}"), Rev = elected.Header.Revision, Lease = first }, elected.Leader);
        Assert.Equal($"netelect/{Hex(first)}=one", await NextObservedAsync());
        var leader = await client.LeaderAsync("netelect");
        Assert.Equal(("one", elected.Leader.Rev), (leader.Kv.Value.ToStringUtf8(), leader.Kv.CreateRevision));

        await client.ProclaimAsync(elected.Leader, "one again");
        Assert.Equal($"netelect/{Hex(first)}=one again", await NextObservedAsync());

        var campaigning = client.CampaignAsync("netelect", second, "two");
        await WaitForKeyAsync(client, $"netelect/{Hex(second)}", present: true);
        Assert.False(campaigning.IsCompleted, "the second candidate was elected while the first led");
        var pretender = new LeaderKey { Name = B("netelect"), Key = B($"netelect/{Hex(second)}"), Rev = elected.Leader.Rev, Lease = second };
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.ProclaimAsync(pretender, "usurped"));
        Assert.Equal((StatusCode.Unknown, "election: not leader"), (refused.StatusCode, refused.Status.Detail));

        await client.ResignAsync(elected.Leader);
        var next = await campaigning.WaitAsync(Bound);
        Assert.Equal($"netelect/{Hex(second)}=two", await NextObservedAsync());
        Assert.Equal("two", (await client.LeaderAsync("netelect")).Kv.Value.ToStringUtf8());
        await client.ResignAsync(elected.Leader); // no longer the leader: nothing happens, no error
        Assert.Equal("two", (await client.LeaderAsync("netelect")).Kv.Value.ToStringUtf8());

        await client.ResignAsync(next.Leader);
        Assert.Equal((StatusCode.Unknown, "election: no leader"), await ErrorOf(() => client.LeaderAsync("netelect")));
        await observing.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => observer.WaitAsync(Bound));
    }

    private static async Task<(StatusCode, string)> ErrorOf(Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        return (e.StatusCode, e.Status.Detail);
    }
}
