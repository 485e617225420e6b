using Google.Protobuf;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Tests.Infrastructure;
using KvClient = RaftKv.Etcd.Api.KV.KVClient;

namespace RaftKv.Tests.Cluster;

/// <summary>
/// A write through a follower is forwarded to the leader; the follower answers its client only once it applied the
/// write itself (as etcd's follower waits for its own apply), so a serializable read on the same member, which reads
/// that member's state without asking the leader, sees the write at once. Before, the follower answered as soon as
/// the leader had applied it, and such a read could miss it.
/// </summary>
public sealed class FollowerReadYourWritesTests
{
    [Fact]
    public async Task AWriteThroughAFollower_IsReadAtOnceBySerializableReadsThere()
    {
        await using var cluster = ProcessCluster.Create(3);
        foreach (var m in cluster.Members) m.Start();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Members.First(m => m != leader);
        using var channel = GrpcChannel.ForAddress(follower.ClientUrl);
        var kv = new KvClient(channel);
        for (var i = 0; i < 200; i++)
        {
            var key = ByteString.CopyFromUtf8($"ryw/{i:D3}");
            var put = await kv.PutAsync(new PutRequest { Key = key, Value = ByteString.CopyFromUtf8($"v{i}") }, deadline: DateTime.UtcNow.AddSeconds(15));
            var read = await kv.RangeAsync(new RangeRequest { Key = key, Serializable = true }, deadline: DateTime.UtcNow.AddSeconds(15));
            Assert.True(read.Kvs.Count == 1 && read.Kvs[0].ModRevision == put.Header.Revision,
                $"write {i} (revision {put.Header.Revision}) through follower {follower.Name} was not read there at once: " +
                $"{read.Kvs.Count} keys at revision {read.Header.Revision}");
            Assert.True(read.Header.Revision >= put.Header.Revision, $"the read's revision {read.Header.Revision} is below the write's {put.Header.Revision}");
        }
    }
}
