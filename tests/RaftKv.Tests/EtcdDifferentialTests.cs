using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>
/// The same calls against a real etcd (Debian etcd-server) and raftkv, answers compared field by field (member and
/// cluster ids and the Raft term aside). Where etcd and raftkv disagree, etcd is right.
/// </summary>
public sealed class EtcdDifferentialTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private static string Normalize(IMessage response) => Differential.Normalize(response);

    private static Task<string> Outcome(Func<Task<IMessage>> call) => Differential.Outcome(call);

    /// <summary>Starts the raftkv member and waits for both servers to answer; clients to etcd and to raftkv.</summary>
    private static async Task<(EtcdClient Reference, EtcdClient Subject)> StartBothAsync(EtcdProcess etcd, ProcessCluster cluster)
    {
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        var reference = new EtcdClient(etcd.ClientUrl);
        await Differential.WaitForEtcdAsync(etcd, reference);
        return (reference, new EtcdClient(cluster.Members[0].ClientUrl));
    }

    [EtcdServerFact]
    public async Task SameCalls_SameAnswers()
    {
        await using var etcd = EtcdProcess.Start();
        await using var cluster = ProcessCluster.Create(1);
        var (reference, subject) = await StartBothAsync(etcd, cluster);
        using var referenceLease = reference;
        using var subjectLease = subject;

        var calls = new List<(string Name, Func<EtcdClient, Task<IMessage>> Call)>
        {
            ("put a", async c => await c.PutAsync(new PutRequest { Key = B("a"), Value = B("1") })),
            ("put b", async c => await c.PutAsync(new PutRequest { Key = B("b"), Value = B("2") })),
            ("put a again with prev_kv", async c => await c.PutAsync(new PutRequest { Key = B("a"), Value = B("3"), PrevKv = true })),
            ("put c with ignore_value (no such key)", async c => await c.PutAsync(new PutRequest { Key = B("c"), IgnoreValue = true })),
            ("put a with ignore_value", async c => await c.PutAsync(new PutRequest { Key = B("a"), IgnoreValue = true, PrevKv = true })),
            ("range all", async c => await c.GetAsync(new RangeRequest { Key = B("\0"), RangeEnd = B("\0") })),
            ("range limit 1", async c => await c.GetAsync(new RangeRequest { Key = B("a"), RangeEnd = B("z"), Limit = 1 })),
            ("range sort by mod desc", async c => await c.GetAsync(new RangeRequest
                { Key = B("a"), RangeEnd = B("z"), SortOrder = RangeRequest.Types.SortOrder.Descend, SortTarget = RangeRequest.Types.SortTarget.Mod })),
            ("range sort by value asc", async c => await c.GetAsync(new RangeRequest
                { Key = B("a"), RangeEnd = B("z"), SortOrder = RangeRequest.Types.SortOrder.Ascend, SortTarget = RangeRequest.Types.SortTarget.Value })),
            ("range count only", async c => await c.GetAsync(new RangeRequest { Key = B("a"), RangeEnd = B("z"), CountOnly = true })),
            ("range keys only at revision 2", async c => await c.GetAsync(new RangeRequest { Key = B("a"), RangeEnd = B("z"), KeysOnly = true, Revision = 2 })),
            ("range end before key", async c => await c.GetAsync(new RangeRequest { Key = B("z"), RangeEnd = B("a") })),
            ("range min mod revision", async c => await c.GetAsync(new RangeRequest { Key = B("a"), RangeEnd = B("z"), MinModRevision = 3 })),
            ("range future revision", async c => await c.GetAsync(new RangeRequest { Key = B("a"), Revision = 1000 })),
            ("range negative limit", async c => await c.GetAsync(new RangeRequest { Key = B("a"), Limit = -1 })),
            ("txn version compare", async c => await c.TransactionAsync(new TxnRequest
            {
                Compare = { new Compare { Key = B("a"), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 2 } },
                Success = { new RequestOp { RequestPut = new PutRequest { Key = B("t"), Value = B("yes") } }, new RequestOp { RequestRange = new RangeRequest { Key = B("t") } } },
                Failure = { new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = B("b") } } },
            })),
            ("txn duplicate put", async c => await c.TransactionAsync(new TxnRequest
            {
                Success = { new RequestOp { RequestPut = new PutRequest { Key = B("d"), Value = B("1") } }, new RequestOp { RequestPut = new PutRequest { Key = B("d"), Value = B("2") } } },
            })),
            ("delete range with prev_kv", async c => await c.DeleteAsync(new DeleteRangeRequest { Key = B("a"), RangeEnd = B("c"), PrevKv = true })),
            ("put empty key", async c => await c.PutAsync(new PutRequest { Key = ByteString.Empty, Value = B("x") })),
            ("compact 3", async c => await c.CompactAsync(new CompactionRequest { Revision = 3 })),
            ("range compacted revision", async c => await c.GetAsync(new RangeRequest { Key = B("a"), Revision = 2 })),
            ("compact again at 3", async c => await c.CompactAsync(new CompactionRequest { Revision = 3 })),
            ("compact future", async c => await c.CompactAsync(new CompactionRequest { Revision = 1000 })),
        };
        var differences = new List<string>();
        var errors = 0;
        foreach (var (name, call) in calls)
        {
            var expected = await Outcome(() => call(reference));
            var actual = await Outcome(() => call(subject));
            if (expected.StartsWith("error", StringComparison.Ordinal)) errors++;
            if (expected != actual) differences.Add($"{name}:\n  etcd:   {expected}\n  raftkv: {actual}");
        }
        // The script exercises both paths: most calls succeed, a handful must fail with etcd's error.
        Assert.InRange(errors, 5, 8);
        Assert.True(differences.Count == 0, $"{differences.Count} of {calls.Count} calls differ from etcd:\n{string.Join('\n', differences)}");
    }

    /// <summary>
    /// Alarms: the same calls, the same answers as etcd, but for one deliberate difference. etcd 3.4 raises an
    /// alarm for any member id; raftkv only for members and for 0 (the whole cluster), since made-up ids let one client
    /// fill the alarm table. etcd 3.4 sends alarm responses without a header (3.5 fills it): headers are not compared.
    /// </summary>
    [EtcdServerFact]
    public async Task AlarmCalls_SameAnswers()
    {
        await using var etcd = EtcdProcess.Start();
        await using var cluster = ProcessCluster.Create(1);
        var (reference, subject) = await StartBothAsync(etcd, cluster);
        using var referenceLease = reference;
        using var subjectLease = subject;

        static AlarmRequest Alarm(AlarmRequest.Types.AlarmAction action, ulong member = 0, AlarmType type = AlarmType.None) =>
            new() { Action = action, MemberID = member, Alarm = type };
        static async Task<IMessage> Call(EtcdClient c, AlarmRequest request)
        {
            var response = await c.AlarmAsync(request);
            response.Header = null;
            return response;
        }
        var calls = new List<(string Name, AlarmRequest Request)>
        {
            ("list, none raised", Alarm(AlarmRequest.Types.AlarmAction.Get)),
            ("activate NOSPACE for the whole cluster (member 0)", Alarm(AlarmRequest.Types.AlarmAction.Activate, 0, AlarmType.Nospace)),
            ("activate it again", Alarm(AlarmRequest.Types.AlarmAction.Activate, 0, AlarmType.Nospace)),
            // Not sent: ACTIVATE with alarm NONE, which stops etcd 3.4.23 (its apply has no case for it); raftkv
            // changes nothing (ApplyTotalityTests).
            ("list after it", Alarm(AlarmRequest.Types.AlarmAction.Get)),
            ("list NOSPACE only", Alarm(AlarmRequest.Types.AlarmAction.Get, 0, AlarmType.Nospace)),
            ("deactivate an alarm that is not raised", Alarm(AlarmRequest.Types.AlarmAction.Deactivate, 0xdead, AlarmType.Nospace)),
            ("deactivate the raised one", Alarm(AlarmRequest.Types.AlarmAction.Deactivate, 0, AlarmType.Nospace)),
            ("list at the end", Alarm(AlarmRequest.Types.AlarmAction.Get)),
        };
        var differences = new List<string>();
        foreach (var (name, request) in calls)
        {
            var expected = await Outcome(() => Call(reference, request));
            var actual = await Outcome(() => Call(subject, request));
            if (expected != actual) differences.Add($"{name}:\n  etcd:   {expected}\n  raftkv: {actual}");
        }
        Assert.True(differences.Count == 0, $"{differences.Count} of {calls.Count} calls differ from etcd:\n{string.Join('\n', differences)}");

        // The deliberate difference, checked on both so a change in either shows.
        var madeUp = Alarm(AlarmRequest.Types.AlarmAction.Activate, 0xdead, AlarmType.Nospace);
        Assert.Equal("""{ "alarms": [ { "memberID": "57005", "alarm": "NOSPACE" } ] }""", await Outcome(() => Call(reference, madeUp)));
        Assert.Equal("error NotFound: etcdserver: member not found", await Outcome(() => Call(subject, madeUp)));
    }
}
