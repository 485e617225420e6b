using System.Globalization;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Leases;

/// <summary>
/// Lease calls against a real etcd 3.4 (Debian etcd-server) and raftkv, answers compared field by field (member and
/// cluster ids and the Raft term aside; a remaining TTL only as "positive", since it runs). raftkv runs with etcd's
/// default timing (100 ms heartbeat, 1 s election), so both raise a short TTL to the same minLeaseTTL, 2 s.
/// </summary>
public sealed class LeaseDifferentialTests
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    // A remaining TTL runs, so only "positive and at most granted" is compared; etcd lists leases, and a lease's keys,
    // from Go maps, in no order (a CI run saw etcd answer [b, a] where raftkv answered [a, b]), so both are sorted.
    private static void Adjust(IMessage copy)
    {
        switch (copy)
        {
            case LeaseTimeToLiveResponse ttl:
                if (ttl.TTL > 0) ttl.TTL = ttl.TTL <= ttl.GrantedTTL ? 1 : -100;
                var keys = ttl.Keys.OrderBy(k => k.Memory, ByteOrder.Instance).ToArray();
                ttl.Keys.Clear();
                ttl.Keys.AddRange(keys);
                break;
            case LeaseLeasesResponse list:
                var sorted = list.Leases.OrderBy(l => l.ID).ToArray();
                list.Leases.Clear();
                list.Leases.AddRange(sorted);
                break;
        }
    }

    private static Task<string> Outcome(Func<Task<IMessage>> call) => Differential.Outcome(call, Adjust);

    [EtcdServerFact]
    public async Task LeaseCalls_SameAnswers()
    {
        await using var etcd = EtcdProcess.Start();
        await using var cluster = ProcessCluster.Create(1);
        var member = cluster.Members[0];
        member.ExtraArgs = [.. member.ExtraArgs.Select((a, i) => i > 0 && member.ExtraArgs[i - 1] == "--heartbeat-interval" ? "100"
            : i > 0 && member.ExtraArgs[i - 1] == "--election-timeout" ? "1000" : a)];
        member.Start();
        await cluster.WaitForLeaderAsync();
        using var reference = new EtcdClient(etcd.ClientUrl);
        using var subject = new EtcdClient(member.ClientUrl);
        await Differential.WaitForEtcdAsync(etcd, reference);

        var calls = new List<(string Name, Func<EtcdClient, Task<IMessage>> Call)>
        {
            ("grant 100 for 60 s", async c => await c.LeaseGrantAsync(new LeaseGrantRequest { ID = 100, TTL = 60 })),
            ("grant 100 again", async c => await c.LeaseGrantAsync(new LeaseGrantRequest { ID = 100, TTL = 60 })),
            ("grant 101 with TTL 0", async c => await c.LeaseGrantAsync(new LeaseGrantRequest { ID = 101, TTL = 0 })),
            ("grant 102 with TTL -5", async c => await c.LeaseGrantAsync(new LeaseGrantRequest { ID = 102, TTL = -5 })),
            ("grant 103 with TTL 1", async c => await c.LeaseGrantAsync(new LeaseGrantRequest { ID = 103, TTL = 1 })),
            ("grant 104 with the largest TTL", async c => await c.LeaseGrantAsync(new LeaseGrantRequest { ID = 104, TTL = 9_000_000_000 })),
            ("grant 105 with too large a TTL", async c => await c.LeaseGrantAsync(new LeaseGrantRequest { ID = 105, TTL = 9_000_000_001 })),
            ("put a with lease 100", async c => await c.PutAsync(new PutRequest { Key = B("a"), Value = B("1"), Lease = 100 })),
            ("put b with lease 100", async c => await c.PutAsync(new PutRequest { Key = B("b"), Value = B("2"), Lease = 100 })),
            ("put c with unknown lease", async c => await c.PutAsync(new PutRequest { Key = B("c"), Value = B("3"), Lease = 999 })),
            ("put b with ignore_lease", async c => await c.PutAsync(new PutRequest { Key = B("b"), Value = B("3"), IgnoreLease = true })),
            ("range a..z", async c => await c.GetAsync(new RangeRequest { Key = B("a"), RangeEnd = B("z") })),
            ("time to live 100 with keys", async c => await c.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = 100, Keys = true })),
            ("time to live 104", async c => await c.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = 104 })),
            ("time to live of an unknown lease", async c => await c.LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = 999, Keys = true })),
            ("leases", async c => await c.LeaseLeasesAsync(new LeaseLeasesRequest())),
            ("revoke 100", async c => await c.LeaseRevokeAsync(new LeaseRevokeRequest { ID = 100 })),
            ("range after revoke", async c => await c.GetAsync(new RangeRequest { Key = B("a"), RangeEnd = B("z") })),
            ("revoke 100 again", async c => await c.LeaseRevokeAsync(new LeaseRevokeRequest { ID = 100 })),
            ("revoke 0", async c => await c.LeaseRevokeAsync(new LeaseRevokeRequest { ID = 0 })),
            ("revoke 104 (no keys)", async c => await c.LeaseRevokeAsync(new LeaseRevokeRequest { ID = 104 })),
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

/// <summary>Keys in etcd's order: bytewise.</summary>
file sealed class ByteOrder : IComparer<ReadOnlyMemory<byte>>
{
    public static readonly ByteOrder Instance = new();

    public int Compare(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceCompareTo(y.Span);
}
