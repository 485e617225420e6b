using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>
/// A restarting member answers nothing until its state is restored (Raft paper section 7: the state machine is
/// rebuilt from the snapshot before the log after it). It used to listen first: during the restore, serializable
/// reads saw an empty store and other calls failed with gRPC Unknown ("the host was not started"), seen for about
/// 8 s at 300,000 keys of 1 KiB (bench/state-size.sh). At the size here the restore is too quick for the old order
/// to be caught reliably; the test guards the order and that a restart from snapshots keeps every write.
/// </summary>
public sealed class RestartTests
{
    /// <summary>
    /// In memory the store is rebuilt from the last snapshot and the log after it; on disk it is opened in place and
    /// only the log after its applied index is applied (the entries it holds are skipped).
    /// </summary>
    [Theory]
    [InlineData("disk")]
    [InlineData("memory")]
    public async Task AfterKill9_TheFirstAnswerAlreadyHasEveryWrite(string backend)
    {
        await using var cluster = ProcessCluster.Create(1);
        var member = cluster.Members[0];
        member.ExtraArgs = [.. member.ExtraArgs, "--snapshot-count", "1000", "--backend", backend];
        member.Start();
        await cluster.WaitForLeaderAsync();
        using (var client = new EtcdClient(member.ClientUrl))
        {
            // About 8 MB in 8,000 keys: several snapshots are taken, and restoring the last takes a while.
            var value = ByteString.CopyFrom(new byte[1024]);
            await Task.WhenAll(Enumerable.Range(0, 40).Select(async worker =>
            {
                for (var i = 0; i < 200; i++) await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"k/{worker}/{i}"), Value = value });
            }));
            await client.PutAsync("last", "x");
        }

        member.Kill();
        member.Start();
        using var again = new EtcdClient(member.ClientUrl);
        var first = await Poll.UntilAsync(async () =>
        {
            try
            {
                return await again.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("last"), Serializable = true });
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                return null; // not listening yet
            }
        }, TimeSpan.FromSeconds(60), "the restarted member answering", cluster.Diagnostics);
        Assert.Equal("x", Assert.Single(first.Kvs).Value.ToStringUtf8());
        var count = await again.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("k/"), RangeEnd = ByteString.CopyFromUtf8("k0"), CountOnly = true, Serializable = true });
        Assert.Equal(8000, count.Count);
    }
}
