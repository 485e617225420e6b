using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;
using V3Electionpb;
using V3Lockpb;

namespace RaftKv.Tests.Concurrency;

/// <summary>
/// Lock and election calls against a real etcd 3.4 (Debian etcd-server) and a fresh one-member raftkv, answers
/// compared field by field (member and cluster ids and the Raft term aside): the same sequence on two fresh stores
/// gives the same revisions, and leases are granted with fixed ids, so keys and leader keys are the same too.
/// </summary>
public sealed class LockElectionDifferentialTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private static Task<string> Outcome(Func<Task<IMessage>> call) => Differential.Outcome(call);

    private static LeaderKey Key(string name, long lease, long revision) =>
        new() { Name = B(name), Key = B($"{name}/{lease:x}"), Rev = revision, Lease = lease };

    [EtcdServerFact]
    public async Task LockAndElectionCalls_SameAnswers()
    {
        await using var etcd = EtcdProcess.Start();
        await using var cluster = ProcessCluster.Create(1);
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        using var reference = new EtcdClient(etcd.ClientUrl);
        using var subject = new EtcdClient(cluster.Members[0].ClientUrl);
        await Differential.WaitForEtcdAsync(etcd, reference);

        // Revisions: the lock's put is 2, the campaign's 3 (grants make none).
        var calls = new List<(string Name, Func<EtcdClient, Task<IMessage>> Call)>
        {
            ("grant 100", async c => await c.LeaseGrantAsync(new LeaseGrantRequest { ID = 100, TTL = 60 })),
            ("grant 101", async c => await c.LeaseGrantAsync(new LeaseGrantRequest { ID = 101, TTL = 60 })),
            ("put a key", async c => await c.PutAsync(new PutRequest { Key = B("other"), Value = B("x") })),
            ("leader with no leader", async c => await c.LeaderAsync(new LeaderRequest { Name = B("e") })),
            ("lock with an unknown lease", async c => await c.LockAsync(new LockRequest { Name = B("l"), Lease = 999 })),
            ("unlock of a missing key", async c => await c.UnlockAsync(new UnlockRequest { Key = B("l/nothing") })),
            ("lock with lease 100", async c => await c.LockAsync(new LockRequest { Name = B("l"), Lease = 100 })),
            ("lock again with lease 100", async c => await c.LockAsync(new LockRequest { Name = B("l"), Lease = 100 })),
            ("campaign with an unknown lease", async c => await c.CampaignAsync(new CampaignRequest { Name = B("e"), Lease = 999, Value = B("v") })),
            ("campaign with lease 100", async c => await c.CampaignAsync(new CampaignRequest { Name = B("e"), Lease = 100, Value = B("one") })),
            ("leader", async c => await c.LeaderAsync(new LeaderRequest { Name = B("e") })),
            ("proclaim by a non-leader", async c => await c.ProclaimAsync(new ProclaimRequest { Leader = Key("e", 101, 3), Value = B("two") })),
            ("proclaim with a wrong revision", async c => await c.ProclaimAsync(new ProclaimRequest { Leader = Key("e", 100, 2), Value = B("two") })),
            ("proclaim without a leader", async c => await c.ProclaimAsync(new ProclaimRequest { Value = B("two") })),
            ("proclaim by the leader", async c => await c.ProclaimAsync(new ProclaimRequest { Leader = Key("e", 100, 3), Value = B("one again") })),
            ("leader after proclaim", async c => await c.LeaderAsync(new LeaderRequest { Name = B("e") })),
            ("campaign again with lease 100 and a new value", async c => await c.CampaignAsync(new CampaignRequest { Name = B("e"), Lease = 100, Value = B("three") })),
            ("resign by a non-leader", async c => await c.ResignAsync(new ResignRequest { Leader = Key("e", 101, 3) })),
            ("resign without a leader", async c => await c.ResignAsync(new ResignRequest())),
            ("resign by the leader", async c => await c.ResignAsync(new ResignRequest { Leader = Key("e", 100, 3) })),
            ("leader after resign", async c => await c.LeaderAsync(new LeaderRequest { Name = B("e") })),
            ("unlock", async c => await c.UnlockAsync(new UnlockRequest { Key = B("l/64") })),
            ("range after all", async c => await c.GetAsync(new RangeRequest { Key = B("\0"), RangeEnd = B("\0") })),
        };
        var differences = new List<string>();
        foreach (var (name, call) in calls)
        {
            var expected = await Outcome(() => call(reference));
            var actual = await Outcome(() => call(subject));
            if (expected != actual) differences.Add($"{name}:\n  etcd:   {expected}\n  raftkv: {actual}");
        }
        Assert.True(differences.Count == 0, $"{differences.Count} of {calls.Count} calls differ from etcd:\n{string.Join('\n', differences)}");
    }
}
