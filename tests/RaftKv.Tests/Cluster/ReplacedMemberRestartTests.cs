using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Cluster;

/// <summary>
/// A regression test for what the robustness suite's 10-minute run found (issue 16). A member that joined, then
/// restarted before its store or log held the member table, fell back to its flags. Their ids are hashed from names and are
/// wrong for every member added by MemberAdd. Led by such a member, it could not answer the leader, so it never
/// caught up, and it refused every forwarded write with "unknown peer" for minutes. The member now asks the running
/// members for the peers its table lacks (PeerRefresher), and catches up and serves like any other (thesis section
/// 4.1: a server learns the configuration from the log; it must be able to talk to the leader to get it).
/// </summary>
public sealed class ReplacedMemberRestartTests
{
    [Fact]
    public async Task AJoinerRestartedBeforeItHeldTheTable_LearnsTheAddedLeader_AndServes()
    {
        await using var cluster = ProcessCluster.Create(3);
        foreach (var m in cluster.Members)
        {
            m.ExtraArgs = [.. m.ExtraArgs, "--snapshot-count", "100"]; // the leader's log is compacted: a joiner needs a snapshot
            m.Start();
        }
        var leader = await cluster.WaitForLeaderAsync();

        // C is replaced by C1, whose id MemberAdd chose; C1 leads.
        var c = cluster.Members.First(m => m != leader);
        await ClusterMembership.RemoveAsync(cluster, c);
        var c1 = cluster.AddMember("C1");
        await ClusterMembership.AddAsync(cluster, c1);
        var c1Id = await ClusterMembership.IdOfAsync(cluster, c1);
        c1.Start();
        await Poll.UntilAsync(async () =>
        {
            var now = await cluster.WaitForLeaderAsync();
            if (now == c1) return true;
            using var channel = now.OpenChannel();
            try
            {
                await new Maintenance.MaintenanceClient(channel).MoveLeaderAsync(new MoveLeaderRequest { TargetID = c1Id }, deadline: DateTime.UtcNow.AddSeconds(5));
            }
            catch (RpcException)
            {
                // C1 not caught up yet, or a leader change meanwhile: ask again
            }
            return false;
        }, ProcessCluster.ElectionBound, "C1 leading", cluster.Diagnostics);
        await WriteAsync(c1, 300, "before");

        // B is replaced by B2, whose first start joins (its data directory says so) but cannot listen: its peer port is
        // taken. Its store and log are empty; restarted, it knows C1 only by the id its flags hash.
        var b = cluster.Members.First(m => m != c1);
        await ClusterMembership.RemoveAsync(cluster, b);
        var b2 = cluster.AddMember("B2");
        await ClusterMembership.AddAsync(cluster, b2);
        using (var taken = new TcpListener(IPAddress.Loopback, b2.PeerPort))
        {
            taken.Start();
            b2.Start();
            Assert.Equal(1, await b2.WaitForExitAsync(ProcessCluster.ElectionBound));
            Assert.Contains(b2.Output, l => l.Contains("cannot listen", StringComparison.Ordinal));
        }
        b2.Start();

        // It catches up and takes writes (forwarded to C1), and its state hashes as the others'.
        var last = await Poll.UntilAsync(async () =>
        {
            using var channel = b2.OpenChannel();
            try
            {
                return await new KV.KVClient(channel).PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("after"), Value = ByteString.CopyFromUtf8("1") }, deadline: DateTime.UtcNow.AddSeconds(3));
            }
            catch (RpcException)
            {
                return null;
            }
        }, ProcessCluster.ElectionBound, "a write through B2", cluster.Diagnostics);
        var hashes = await HashKv.OfEveryMemberAsync(cluster, last.Header.Revision, ProcessCluster.ElectionBound, "HashKV of every member");
        Assert.Single(hashes.Select(h => h.Hash).Distinct());
    }

    private static async Task WriteAsync(MemberProcess via, int count, string prefix)
    {
        using var channel = via.OpenChannel();
        var kv = new KV.KVClient(channel);
        for (var i = 0; i < count; i++)
            await kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"{prefix}/{i}"), Value = ByteString.CopyFromUtf8("v") }, deadline: DateTime.UtcNow.AddSeconds(10));
    }
}
