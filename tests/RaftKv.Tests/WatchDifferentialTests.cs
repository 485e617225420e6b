using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;
using FilterType = Etcdserverpb.WatchCreateRequest.Types.FilterType;

namespace RaftKv.Tests;

/// <summary>
/// The same watch requests on one stream to a real etcd 3.4 (Debian etcd-server) and to raftkv: history replay,
/// watching from now and from a future revision, filters, prev_kv, a compacted start, cancel of a known and an
/// unknown id, a duplicate client-chosen id. Responses are compared per watch id, in order (etcd interleaves
/// different watchers' responses as its goroutines run).
/// </summary>
public sealed class WatchDifferentialTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(700); // etcd syncs unsynced watchers every 100 ms
    private static readonly TimeSpan StepMax = TimeSpan.FromSeconds(15);

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private static string Normalize(WatchResponse response) => Differential.Normalize(response);

    private static async Task<List<string>> RunScriptAsync(string url, EtcdClient client)
    {
        var record = new List<string>();
        await using var watch = WatchProbe.Open(url);
        async Task Step(string name, Func<Task> action)
        {
            await action();
            var responses = await watch.DrainAsync(Quiet, StepMax);
            record.Add($"## {name}");
            record.AddRange(responses.GroupBy(r => r.WatchId).OrderBy(g => g.Key).SelectMany(g => g.Select(Normalize)));
        }

        await Step("writes before any watch", async () =>
        {
            await client.PutAsync(new PutRequest { Key = B("a"), Value = B("1") });
            await client.PutAsync(new PutRequest { Key = B("b"), Value = B("2") });
            await client.PutAsync(new PutRequest { Key = B("a"), Value = B("3") });
            await client.DeleteAsync(new DeleteRangeRequest { Key = B("b") });
            await client.PutAsync(new PutRequest { Key = B("c"), Value = B("5") });
        });
        await Step("history of a with prev_kv", () => watch.CreateAsync(new WatchCreateRequest { Key = B("a"), StartRevision = 1, PrevKv = true }));
        await Step("every key from revision 3, deletes only", () =>
            watch.CreateAsync(new WatchCreateRequest { Key = B("\0"), RangeEnd = B("\0"), StartRevision = 3, Filters = { FilterType.Noput } }));
        await Step("prefix from revision 2, puts only", () =>
            watch.CreateAsync(new WatchCreateRequest { Key = B("a"), RangeEnd = B("b"), StartRevision = 2, Filters = { FilterType.Nodelete } }));
        await Step("x from now", () => watch.CreateAsync(new WatchCreateRequest { Key = B("x") }));
        await Step("put x (two watchers see it? only x's and the all-keys one filtered)", () => client.PutAsync(new PutRequest { Key = B("x"), Value = B("7") }));
        await Step("f from a future revision", () => watch.CreateAsync(new WatchCreateRequest { Key = B("f"), StartRevision = 9 }));
        await Step("put f twice", async () =>
        {
            await client.PutAsync(new PutRequest { Key = B("f"), Value = B("8") });
            await client.PutAsync(new PutRequest { Key = B("f"), Value = B("9") });
        });
        await Step("a txn of two puts and a delete: one response per watcher", () => client.TransactionAsync(new TxnRequest
        {
            Success =
            {
                new RequestOp { RequestPut = new PutRequest { Key = B("a"), Value = B("10") } },
                new RequestOp { RequestPut = new PutRequest { Key = B("ab"), Value = B("10") } },
                new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = B("c") } },
            },
        }));
        await Step("compact at 6", () => client.CompactAsync(new CompactionRequest { Revision = 6 }));
        await Step("a from a compacted revision", () => watch.CreateAsync(new WatchCreateRequest { Key = B("a"), StartRevision = 3 }));
        await Step("a from the compact revision itself", () => watch.CreateAsync(new WatchCreateRequest { Key = B("a"), StartRevision = 6 }));
        await Step("client-chosen id 100", () => watch.CreateAsync(new WatchCreateRequest { Key = B("y"), WatchId = 100 }));
        await Step("client-chosen id 100 again", () => watch.CreateAsync(new WatchCreateRequest { Key = B("z"), WatchId = 100 }));
        await Step("cancel 100", () => watch.SendAsync(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = 100 } }));
        await Step("cancel an unknown id", () => watch.SendAsync(new WatchRequest { CancelRequest = new WatchCancelRequest { WatchId = 999 } }));
        await Step("an empty key with no range end", () => watch.CreateAsync(new WatchCreateRequest { StartRevision = 1 }));
        await Step("a range that ends before it starts", () => watch.CreateAsync(new WatchCreateRequest { Key = B("b"), RangeEnd = B("a"), StartRevision = 1 }));
        await Step("a negative start revision", () => watch.CreateAsync(new WatchCreateRequest { Key = B("a"), StartRevision = -5 }));
        await Step("watch_id -1", () => watch.CreateAsync(new WatchCreateRequest { Key = B("a"), WatchId = -1 }));
        await Step("watch_id -7", () => watch.CreateAsync(new WatchCreateRequest { Key = B("a"), WatchId = -7 }));
        await Step("request progress", () => watch.SendAsync(new WatchRequest { ProgressRequest = new WatchProgressRequest() }));
        return record;
    }

    [EtcdServerFact]
    public async Task The_same_watch_requests_get_the_same_responses_as_etcd()
    {
        await using var etcd = EtcdProcess.Start();
        await using var cluster = ProcessCluster.Create(1);
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        using var reference = new EtcdClient(etcd.ClientUrl);
        await Differential.WaitForEtcdAsync(etcd, reference);
        using var subject = new EtcdClient(cluster.Members[0].ClientUrl);

        var expected = await RunScriptAsync(etcd.ClientUrl, reference);
        var actual = await RunScriptAsync(cluster.Members[0].ClientUrl, subject);
        output.WriteLine(string.Join("\n", expected));
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var e = i < expected.Count ? expected[i] : "(nothing)";
            var a = i < actual.Count ? actual[i] : "(nothing)";
            Assert.True(e == a, $"line {i}: etcd said\n  {e}\nraftkv said\n  {a}\n\nraftkv's whole record:\n{string.Join("\n", actual)}");
        }
    }
}
