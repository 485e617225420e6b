using System.Collections.Concurrent;
using System.Diagnostics;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Watch;

/// <summary>The Watch service through real clients (etcdctl, dotnet-etcd) and its options, on a live cluster.</summary>
public sealed class WatchServiceTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task Dotnet_etcd_watch_gets_the_puts_and_deletes_of_a_prefix()
    {
        await using var cluster = await ProcessCluster.StartAsync(1);
        await cluster.WaitForLeaderAsync();
        using var client = new EtcdClient(cluster.Members[0].ClientUrl);
        var seen = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // From the revision after now, so no put below can come before the watch is registered.
        var from = (await client.GetAsync(new RangeRequest { Key = B("dw/") })).Header.Revision + 1;
        var watching = client.WatchAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = B("dw/"), RangeEnd = B("dw0"), PrevKv = true, StartRevision = from } },
            (WatchResponse r) =>
            {
                foreach (var e in r.Events) seen.Enqueue($"{e.Type} {e.Kv.Key.ToStringUtf8()}={e.Kv.Value.ToStringUtf8()} prev={e.PrevKv?.Value.ToStringUtf8()}");
            }, cancellationToken: stop.Token);
        await client.PutAsync(new PutRequest { Key = B("dw-probe"), Value = B("x") }); // outside the prefix
        await client.PutAsync(new PutRequest { Key = B("dw/a"), Value = B("1") });
        await client.PutAsync(new PutRequest { Key = B("dw/a"), Value = B("2") });
        await client.DeleteAsync(new DeleteRangeRequest { Key = B("dw/a") });
        await Poll.UntilAsync(() => Task.FromResult(seen.Count >= 3), TimeSpan.FromSeconds(20), "three events", () => string.Join("\n", seen));
        Assert.Equal(["Put dw/a=1 prev=", "Put dw/a=2 prev=1", "Delete dw/a= prev=2"], seen.ToArray());
        await stop.CancelAsync();
        try
        {
            await watching;
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException)
        {
            // stopped
        }
    }

    [Fact]
    public async Task A_stream_that_requires_a_leader_ends_with_no_leader_once_the_quorum_is_gone_and_a_new_one_is_refused()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        var requireLeader = new Metadata { { "hasleader", "true" } };
        await using var watch = WatchProbe.Open(leader.ClientUrl, requireLeader);
        await watch.CreateAsync(new WatchCreateRequest { Key = B("hl") });
        Assert.True((await watch.TakeAsync(1, TimeSpan.FromSeconds(10)))[0].Created);
        foreach (var m in cluster.Members.Where(m => m != leader)) m.Kill();
        // CheckQuorum makes the leader step down within an election timeout; the stream ends three timeouts later.
        var ended = await watch.WaitForEndAsync(TimeSpan.FromSeconds(30));
        Assert.NotNull(ended);
        Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
        Assert.Equal("etcdserver: no leader", ended.Status.Detail);
        await using var again = WatchProbe.Open(leader.ClientUrl, requireLeader);
        try
        {
            await again.CreateAsync(new WatchCreateRequest { Key = B("hl") });
        }
        catch (RpcException)
        {
            // the server may end the call before the request is written: it refuses at the call's start
        }
        var refused = await again.WaitForEndAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("etcdserver: no leader", refused?.Status.Detail);
        // Without the metadata a watch is still served from the member's store.
        await using var plain = WatchProbe.Open(leader.ClientUrl);
        await plain.CreateAsync(new WatchCreateRequest { Key = B("hl") });
        Assert.True((await plain.TakeAsync(1, TimeSpan.FromSeconds(10)))[0].Created);
    }

    [Fact]
    public async Task A_quiet_progress_notify_watcher_hears_the_revision_at_the_configured_interval()
    {
        await using var cluster = ProcessCluster.Create(1);
        cluster.Members[0].ExtraArgs = [.. cluster.Members[0].ExtraArgs, "--experimental-watch-progress-notify-interval", "300ms"];
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        using var client = new EtcdClient(cluster.Members[0].ClientUrl);
        var revision = (await client.PutAsync(new PutRequest { Key = B("pn-other"), Value = B("1") })).Header.Revision;
        await using var watch = WatchProbe.Open(cluster.Members[0].ClientUrl);
        await watch.CreateAsync(new WatchCreateRequest { Key = B("pn"), ProgressNotify = true });
        await watch.CreateAsync(new WatchCreateRequest { Key = B("pn-quiet") }); // no progress_notify: hears nothing
        var responses = await watch.TakeAsync(4, TimeSpan.FromSeconds(20)); // two creates, then two notifications
        Assert.True(responses[0].Created && responses[1].Created);
        var id = responses[0].WatchId;
        Assert.All(responses.Skip(2), r =>
        {
            Assert.Equal(id, r.WatchId);
            Assert.Empty(r.Events);
            Assert.False(r.Created || r.Canceled);
            Assert.Equal(revision, r.Header.Revision);
        });
    }

    [Fact]
    public async Task A_revision_larger_than_the_request_limit_comes_in_fragments_only_to_a_watcher_that_asked()
    {
        await using var cluster = await ProcessCluster.StartAsync(1);
        await cluster.WaitForLeaderAsync();
        using var client = new EtcdClient(cluster.Members[0].ClientUrl);
        var value = ByteString.CopyFrom(new byte[100 * 1024]);
        var txn = new TxnRequest();
        for (var i = 0; i < 14; i++) txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B($"fr/{i:D2}"), Value = value } });
        await client.TransactionAsync(txn); // the keys exist: the next txn's prev_kv doubles its events' size
        var revision = (await client.TransactionAsync(txn)).Header.Revision; // 1.4 MB request, 2.8 MB of events with prev_kv
        await using var watch = WatchProbe.Open(cluster.Members[0].ClientUrl);
        await watch.CreateAsync(new WatchCreateRequest { Key = B("fr/"), RangeEnd = B("fr0"), StartRevision = revision, PrevKv = true, Fragment = true });
        var fragments = new List<WatchResponse>();
        Assert.True((await watch.TakeAsync(1, TimeSpan.FromSeconds(10)))[0].Created);
        do
        {
            fragments.AddRange(await watch.TakeAsync(1, TimeSpan.FromSeconds(10)));
        }
        while (fragments[^1].Fragment);
        Assert.True(fragments.Count > 1, "a 2.8 MB revision came in one response to a watcher that asked for fragments");
        Assert.All(fragments, f => Assert.True(f.CalculateSize() < 1_572_864 + 200 * 1024, $"a fragment of {f.CalculateSize()} bytes"));
        Assert.Equal(Enumerable.Range(0, 14).Select(i => $"fr/{i:D2}"), fragments.SelectMany(f => f.Events).Select(e => e.Kv.Key.ToStringUtf8()));

        await watch.CreateAsync(new WatchCreateRequest { Key = B("fr/"), RangeEnd = B("fr0"), StartRevision = revision, PrevKv = true });
        var whole = await watch.TakeAsync(2, TimeSpan.FromSeconds(10));
        Assert.True(whole[0].Created);
        Assert.False(whole[1].Fragment);
        Assert.Equal(14, whole[1].Events.Count); // Atomic: the whole revision in one response
    }

    [EtcdServerFact]
    public async Task Etcdctl_watch_prints_the_same_as_against_etcd()
    {
        var etcdctl = ExternalTools.Require("etcdctl", "etcd-client");
        await using var etcd = EtcdProcess.Start();
        await using var cluster = await ProcessCluster.StartAsync(1);
        await cluster.WaitForLeaderAsync();
        async Task<string> RunAsync(string endpoint)
        {
            async Task<string> Ctl(params string[] args)
            {
                var (code, text) = await ExternalTools.RunAsync(etcdctl, ["--endpoints=" + endpoint, .. args], TimeSpan.FromSeconds(30),
                    environment: new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
                Assert.True(code == 0, text);
                return text;
            }
            await Poll.UntilAsync(async () =>
            {
                try
                {
                    await Ctl("put", "ew/a", "1");
                    return true;
                }
                catch (Xunit.Sdk.TrueException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(20), "the server answering");
            await Ctl("put", "ew/a", "2");
            await Ctl("put", "ew/b", "3");
            await Ctl("del", "ew/a");
            await Ctl("put", "ew/z", "end");
            using var watch = new EtcdctlProcess(endpoint, "watch", "ew/", "--prefix", "--rev=1", "--prev-kv");
            await Poll.UntilAsync(() => Task.FromResult(watch.Lines.Contains("end")), TimeSpan.FromSeconds(20), "etcdctl printing the last event",
                () => watch.Output);
            await watch.StopAsync();
            return watch.Output;
        }
        var expected = await RunAsync(etcd.ClientUrl.Replace("http://", "", StringComparison.Ordinal));
        var actual = await RunAsync($"127.0.0.1:{cluster.Members[0].ClientPort}");
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Watchers_and_streams_beyond_the_limits_are_refused_with_the_reason_and_the_others_go_on()
    {
        await using var cluster = ProcessCluster.Create(1);
        cluster.Members[0].ExtraArgs = [.. cluster.Members[0].ExtraArgs, "--max-watchers-per-stream", "2", "--max-watch-streams", "1"];
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        using var client = new EtcdClient(cluster.Members[0].ClientUrl);
        await using var watch = WatchProbe.Open(cluster.Members[0].ClientUrl);
        await watch.CreateAsync(new WatchCreateRequest { Key = B("lim/a") });
        await watch.CreateAsync(new WatchCreateRequest { Key = B("lim/b") });
        await watch.CreateAsync(new WatchCreateRequest { Key = B("lim/c") });
        var created = await watch.TakeAsync(3, TimeSpan.FromSeconds(10));
        Assert.True(created[0].Created && !created[0].Canceled && created[1].Created && !created[1].Canceled);
        Assert.True(created[2].Created && created[2].Canceled, created[2].ToString());
        Assert.Equal(-1, created[2].WatchId);
        Assert.Contains("too many watchers on this stream (at most 2)", created[2].CancelReason, StringComparison.Ordinal);

        await using var second = WatchProbe.Open(cluster.Members[0].ClientUrl);
        await second.CreateAsync(new WatchCreateRequest { Key = B("lim/a") });
        var refused = await second.WaitForEndAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(StatusCode.ResourceExhausted, refused?.StatusCode);

        // The watchers within the limits are undisturbed.
        await client.PutAsync(new PutRequest { Key = B("lim/b"), Value = B("1") });
        var events = await watch.TakeAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal("lim/b", events[0].Events.Single().Kv.Key.ToStringUtf8());
    }
}
