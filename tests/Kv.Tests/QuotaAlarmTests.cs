using Grpc.Core;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;
using AlarmAction = RaftKv.Etcd.Api.AlarmRequest.Types.AlarmAction;

namespace RaftKv.Kv.Tests;

public sealed class QuotaAlarmTests
{
    private static TestStore Small() => new(new KvStoreOptions { QuotaBytes = 2000 });

    private static ApplyResult Alarm(TestStore s, AlarmAction action, AlarmType type = AlarmType.None, ulong member = 0) =>
        Ok(s.Apply(new KvCommand { Alarm = new AlarmRequest { Action = action, Alarm = type, MemberID = member } }));

    // What the server does with a write (KvProposer): check the quota, and when it is exceeded raise NOSPACE through
    // the log instead of proposing the write.
    private static ApplyResult ProposePut(TestStore s, string key, string value, ulong member = 1)
    {
        var command = new KvCommand { Put = new PutRequest { Key = B(key), Value = B(value) } };
        if (s.Store.CheckQuota(command) is { } refused)
        {
            Alarm(s, AlarmAction.Activate, AlarmType.Nospace, member);
            Assert.Equal(KvError.NoSpace, refused);
        }

        return s.Apply(command);
    }

    [Fact]
    public void WriteThatWouldExceedTheQuotaRaisesNoSpace()
    {
        using var s = Small();
        s.Put("a", new string('x', 500));
        var refused = ProposePut(s, "b", new string('y', 1500), member: 7);
        Assert.Equal(KvError.NoSpace, refused.Error);
        Assert.Equal(StatusCode.ResourceExhausted, refused.Error!.Code);
        Assert.Equal("etcdserver: mvcc: database space exceeded", refused.Error.Message);
        Assert.Null(s.Value("b"));
        var alarm = Assert.Single(s.Store.Alarms);
        Assert.Equal((7UL, AlarmType.Nospace), (alarm.MemberID, alarm.Alarm));

        // Even a small put is refused while the alarm is up: by apply, from the replicated alarm.
        Assert.Null(s.Store.CheckQuota(new KvCommand { Put = new PutRequest { Key = B("c"), Value = B("1") } }));
        Assert.Equal(KvError.NoSpace, s.TryPut(new PutRequest { Key = B("c"), Value = B("1") }).Error);
        Assert.Equal(KvError.NoSpace, s.TryTxn(new TxnRequest { Failure = { PutOp("c", "1") } }).Error);
    }

    [Fact]
    public void ReadsDeletesAndCompactionsGoOnUnderNoSpace()
    {
        using var s = Small();
        s.Put("a", new string('x', 800));
        s.Put("a", new string('x', 800));
        Assert.Equal(KvError.NoSpace, ProposePut(s, "b", new string('y', 800), member: 0).Error);
        Assert.NotNull(s.Value("a"));
        Assert.True(s.Txn(new TxnRequest { Success = { GetOp("a") } }).Succeeded);
        Assert.Equal(1, s.Delete("a").Deleted);
        s.Compact(s.Store.Revision);
        Assert.Equal(0, s.Store.SizeBytes);

        // Space is back but writes stay refused until the alarm is disarmed, as in etcd.
        Assert.Equal(KvError.NoSpace, s.TryPut(new PutRequest { Key = B("b"), Value = B("1") }).Error);
        var disarmed = Alarm(s, AlarmAction.Deactivate, AlarmType.Nospace, 0);
        Assert.Single(disarmed.Alarm!.Alarms);
        Assert.Empty(s.Store.Alarms);
        s.Put("b", "1");
    }

    [Fact]
    public void AlarmsCanBeListedRaisedAndCleared()
    {
        using var s = new TestStore();
        Assert.Empty(Alarm(s, AlarmAction.Get).Alarm!.Alarms);
        Alarm(s, AlarmAction.Activate, AlarmType.Nospace, 7);
        Alarm(s, AlarmAction.Activate, AlarmType.Nospace, 3);
        Assert.Equal([3UL, 7UL], Alarm(s, AlarmAction.Get).Alarm!.Alarms.Select(a => a.MemberID));
        Assert.Equal(2, Alarm(s, AlarmAction.Get, AlarmType.Nospace).Alarm!.Alarms.Count);
        Assert.Empty(Alarm(s, AlarmAction.Get, AlarmType.Corrupt).Alarm!.Alarms);
        Assert.Empty(Alarm(s, AlarmAction.Deactivate, AlarmType.Nospace, 99).Alarm!.Alarms);
        Alarm(s, AlarmAction.Deactivate, AlarmType.Nospace, 3);
        Alarm(s, AlarmAction.Deactivate, AlarmType.Nospace, 7);
        s.Put("a", "1");
    }

    [Fact]
    public void CorruptAlarmStopsKeyValueCommands()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        Alarm(s, AlarmAction.Activate, AlarmType.Corrupt, 1);
        Assert.Equal(KvError.Corrupt, s.TryPut(new PutRequest { Key = B("a"), Value = B("2") }).Error);
        Assert.Equal(KvError.Corrupt, s.TryCompact(2).Error);
        Assert.Equal(KvError.Corrupt, s.Apply(new KvCommand { DeleteRange = new DeleteRangeRequest { Key = B("a") } }).Error);
        Assert.Equal(StatusCode.DataLoss, KvError.Corrupt.Code);
        Alarm(s, AlarmAction.Deactivate, AlarmType.Corrupt, 1);
        s.Put("a", "2");
    }

    [Fact]
    public void AlarmsSurviveSnapshots()
    {
        using var s = Small();
        s.Put("a", new string('x', 1000));
        Assert.False(ProposePut(s, "b", new string('x', 1000)).Succeeded);
        s.SnapshotAndRestore();
        Assert.Single(s.Store.Alarms);
        Assert.Equal(KvError.NoSpace, s.TryPut(new PutRequest { Key = B("c"), Value = B("1") }).Error);
    }

    [Fact]
    public void QuotaZeroMeansDefaultAndNegativeMeansNone()
    {
        Assert.Equal(KvStoreOptions.DefaultQuotaBytes, new KvStoreOptions { QuotaBytes = 0 }.EffectiveQuotaBytes);
        Assert.Equal(long.MaxValue, new KvStoreOptions { QuotaBytes = -1 }.EffectiveQuotaBytes);
        Assert.Equal(2L * 1024 * 1024 * 1024, new KvStoreOptions().EffectiveQuotaBytes);
    }
}
