using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>
/// etcd's documented NOSPACE recovery (raise the quota, restart, <c>etcdctl alarm disarm</c>) on a cluster whose
/// members then run with different quotas. Apply must not read the quota (Raft paper section 5.3: the same log
/// makes the same state), so the members stay identical whatever their flags.
/// </summary>
public sealed class QuotaRecoveryTests
{
    private const string SmallQuota = "1048576";
    private const string LargeQuota = "67108864";

    [Fact]
    public async Task FillToNoSpace_RaiseOneMembersQuota_Disarm_Write_HashKvIsEqualOnAllMembers()
    {
        await using var cluster = ProcessCluster.Create(3);
        foreach (var m in cluster.Members) m.ExtraArgs = [.. m.ExtraArgs, "--quota-backend-bytes", SmallQuota];
        foreach (var m in cluster.Members) m.Start();
        await cluster.WaitForLeaderAsync();
        var a = cluster.Members[0];

        // Fill to NOSPACE (64 KiB values: a 1 MiB quota is reached within 16 puts; the loop is bounded at 64).
        using (var client = new EtcdClient(cluster.Members[1].ClientUrl))
        {
            var value = new string('x', 64 * 1024);
            RpcException? refused = null;
            for (var i = 0; i < 64 && refused is null; i++)
            {
                try
                {
                    await client.PutAsync($"fill/{i}", value);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
                {
                    refused = e;
                }
            }
            Assert.NotNull(refused);
            Assert.Contains("database space exceeded", refused!.Status.Detail, StringComparison.Ordinal);

            // The alarm is replicated: every member now refuses even a small put, whatever its own size estimate.
            var alarms = await Poll.UntilAsync(async () =>
            {
                var r = await client.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get });
                return r.Alarms.Count > 0 ? r : null;
            }, TimeSpan.FromSeconds(10), "the NOSPACE alarm", cluster.Diagnostics);
            Assert.All(alarms.Alarms, x => Assert.Equal(AlarmType.Nospace, x.Alarm));
            foreach (var m in cluster.Members)
            {
                using var c = new EtcdClient(m.ClientUrl);
                var e = await Assert.ThrowsAsync<RpcException>(() => c.PutAsync("small", "1"));
                Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
            }
        }

        // Restart A with a larger quota, disarm through it, write through it.
        await a.StopAsync();
        a.ExtraArgs = [.. a.ExtraArgs.Take(a.ExtraArgs.Count - 2), "--quota-backend-bytes", LargeQuota];
        a.Start();
        await cluster.WaitForLeaderAsync();
        using var viaA = new EtcdClient(a.ClientUrl);
        var listed = await viaA.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get });
        foreach (var alarm in listed.Alarms)
        {
            await viaA.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Deactivate, MemberID = alarm.MemberID, Alarm = alarm.Alarm });
        }
        Assert.Empty((await viaA.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get })).Alarms);
        var revision = (await viaA.PutAsync("after-disarm", new string('y', 64 * 1024))).Header.Revision;

        var hashes = await HashKv.OfEveryMemberAsync(cluster, revision, TimeSpan.FromSeconds(30), "every member applying the write after the disarm");
        Assert.Single(hashes.Select(h => h.Hash).Distinct());

        // Every member holds the write, including those whose own quota it is over.
        foreach (var m in cluster.Members)
        {
            using var c = new EtcdClient(m.ClientUrl);
            var got = await c.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("after-disarm"), Serializable = true });
            Assert.Equal(64 * 1024, Assert.Single(got.Kvs).Value.Length);
        }
    }

    [Fact]
    public async Task AlarmsAreRaisedOnlyForMembersOrTheWholeCluster()
    {
        await using var cluster = await ProcessCluster.StartAsync(1);
        using var client = new EtcdClient(cluster.Members[0].ClientUrl);
        var e = await Assert.ThrowsAsync<RpcException>(() => client.AlarmAsync(new AlarmRequest
        {
            Action = AlarmRequest.Types.AlarmAction.Activate, Alarm = AlarmType.Nospace, MemberID = 0xdead,
        }));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("etcdserver: member not found", e.Status.Detail);
        Assert.Empty((await client.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get })).Alarms);

        // Member 0 (the whole cluster, as client libraries send it) and a real member are accepted.
        foreach (var member in new[] { 0UL, Convert.ToUInt64((await cluster.Members[0].TryStatusAsync())!.Id, 16) })
        {
            var raised = await client.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Activate, Alarm = AlarmType.Nospace, MemberID = member });
            Assert.Equal(member, Assert.Single(raised.Alarms).MemberID);
        }
        Assert.Equal(2, (await client.AlarmAsync(new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get })).Alarms.Count);
    }
}
