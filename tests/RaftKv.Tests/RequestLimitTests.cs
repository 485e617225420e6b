using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>
/// The request limit agrees with the log's record limit: the largest request --max-request-bytes lets in is
/// replicated and stored by every member (before, the flag accepted 64 MiB while the log refused records over
/// 16 MiB, so one large put stopped the leader and, since appends leave first, the followers).
/// </summary>
public sealed class RequestLimitTests
{
    // ServerLimits.MaxRequestBytes: 16 MiB records, less the entry header (17) and the command framing (64).
    private const int MaxRequestBytes = (16 * 1024 * 1024) - 17 - 64;

    [Fact]
    public async Task ThePutAtTheLargestAllowedRequestSize_IsStoredByEveryMember()
    {
        await using var cluster = ProcessCluster.Create(3);
        // The test cluster's 500 ms election timeout is shorter than a 16 MiB entry takes to be written, sent and
        // applied on a loaded 2-core machine (with the store on disk, every member also writes it to RocksDB), so
        // each attempt could end in an election. This test is about sizes, not elections: etcd's 1 s timeout, tripled.
        foreach (var m in cluster.Members)
        {
            m.ExtraArgs = [.. WithoutTimeouts(m.ExtraArgs), "--heartbeat-interval", "100", "--election-timeout", "3000",
                "--max-request-bytes", MaxRequestBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        }

        foreach (var m in cluster.Members) m.Start();
        var leader = await cluster.WaitForLeaderAsync();
        using var client = new EtcdClient(leader.ClientUrl);

        // The value plus key and field tags stays under the limit; one more MiB is refused before the log.
        var value = ByteString.CopyFrom(new byte[MaxRequestBytes - 1024]);
        // On a loaded machine a 16 MiB append can hold heartbeats up past the (short) election timeout of the test
        // cluster; a put lost to that election is tried again (it is idempotent for this check), a bounded few times.
        long revision = 0;
        for (var attempt = 1; revision == 0; attempt++)
        {
            try
            {
                using var current = new EtcdClient((await cluster.WaitForLeaderAsync()).ClientUrl);
                revision = (await current.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("big"), Value = value })).Header.Revision;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && attempt < 4)
            {
            }
        }
        var tooLarge = await Assert.ThrowsAsync<RpcException>(() =>
            client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("bigger"), Value = ByteString.CopyFrom(new byte[MaxRequestBytes + 1024]) }));
        Assert.Contains("request is too large", tooLarge.Status.Detail, StringComparison.Ordinal);

        var hashes = await HashKv.OfEveryMemberAsync(cluster, revision, TimeSpan.FromSeconds(60), "every member storing the large put");
        Assert.Single(hashes.Select(h => h.Hash).Distinct());
        Assert.All(cluster.Members, m => Assert.True(m.IsRunning, m.Name));
    }

    // The cluster's own --heartbeat-interval and --election-timeout, each a flag and its value, taken out.
    private static List<string> WithoutTimeouts(IReadOnlyList<string> args)
    {
        var kept = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is "--heartbeat-interval" or "--election-timeout")
            {
                i++;
                continue;
            }

            kept.Add(args[i]);
        }

        return kept;
    }
}
