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
}
