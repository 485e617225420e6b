using RaftKv.Etcd.Api;
using RaftKv.Kv.Engine;
using RaftKv.Kv.Leases;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests.Leases;

/// <summary>
/// LeaseCheckpoint as etcd's lessor applies it (lease/lessor.go, <c>Checkpoint</c> and <c>RemainingTTL</c>): the
/// remaining TTL the leader measured is recorded in the replicated lease table from the command alone, kept by
/// snapshots and by the disk store across a reopen, and cleared by a checkpoint of 0 (what a keep-alive proposes).
/// Every test runs on both engines.
/// </summary>
public sealed class LeaseCheckpointTests
{
    public static TheoryData<string> Engines() => ["memory", "disk"];

    private static KvCommand Checkpoints(params (long Id, long Remaining)[] checkpoints)
    {
        var request = new LeaseCheckpointRequest();
        foreach (var (id, remaining) in checkpoints)
        {
            request.Checkpoints.Add(new LeaseCheckpoint { ID = id, RemainingTTL = remaining });
        }

        return new KvCommand { LeaseCheckpoint = request };
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void ACheckpointRecordsTheRemainingTtlAndMovesNoRevision(string engine)
    {
        using var s = Of(engine);
        s.Grant(1, 2);
        s.Put("k", "v", lease: 1);
        var revision = s.Store.Revision;
        var result = Ok(s.Apply(Checkpoints((1, 42), (2, 7))));
        Assert.IsType<LeaseCheckpointResponse>(result.Response);
        Assert.Equal(revision, result.Revision);
        Assert.Empty(result.Events);
        Assert.Equal(new LeaseInfo(1, 60, 42), s.Store.FindLease(1));
        Assert.Equal(42, s.Store.FindLease(1)!.CountdownStartSeconds);
        Assert.Equal([new LeaseInfo(1, 60, 42), new LeaseInfo(2, 60, 7)], s.Store.Leases(10));
        Assert.Equal([B("k")], s.Store.LeaseKeys(1, 10));
        Assert.Equal(revision, s.Store.Revision);
        s.Store.CheckInvariants();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void ACheckpointOfZeroClearsItAndTheCountdownStartsFromTheFullTtl(string engine)
    {
        using var s = Of(engine);
        s.Grant(1);
        Ok(s.Apply(Checkpoints((1, 30))));
        Ok(s.Apply(Checkpoints((1, 0)))); // a keep-alive's clear
        Assert.Equal(new LeaseInfo(1, 60, 0), s.Store.FindLease(1));
        Assert.Equal(60, s.Store.FindLease(1)!.CountdownStartSeconds);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void HostileCheckpointsAreBroughtIntoRangeOrSkippedTheSameWayOnEveryEngine(string engine)
    {
        using var s = Of(engine);
        s.Grant(1, 2, 3, 4, 5);
        Ok(s.Apply(Checkpoints((1, 10), (2, 10), (3, 10), (4, 10))));
        Ok(s.Apply(Checkpoints(
            (1, -5), // negative: none, as etcd's RemainingTTL() reads it
            (2, 60), // the full TTL: none
            (3, long.MaxValue), // above the TTL: none
            (4, long.MinValue),
            (5, 20), (5, 59), // the same lease twice: the later wins
            (0, 5), (99, 5), (long.MinValue, 5)))); // unknown leases are skipped, as etcd's lessor does
        Assert.Equal(
            [new LeaseInfo(1, 60, 0), new LeaseInfo(2, 60, 0), new LeaseInfo(3, 60, 0), new LeaseInfo(4, 60, 0), new LeaseInfo(5, 60, 59)],
            s.Store.Leases(10));
        Ok(s.Apply(new KvCommand { LeaseCheckpoint = new LeaseCheckpointRequest() })); // empty: nothing to do
        s.Store.CheckInvariants();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void MoreCheckpointsThanOneCommandMayCarryAreRefusedWhole(string engine)
    {
        using var s = Of(engine);
        s.Grant(1);
        var many = Enumerable.Range(0, LeaseLimits.MaxCheckpointsPerCommand + 1).Select(_ => (1L, 5L)).ToArray();
        Assert.Equal(KvError.TooManyCheckpoints, s.Apply(Checkpoints(many)).Error);
        Assert.Equal(new LeaseInfo(1, 60), s.Store.FindLease(1));
        Ok(s.Apply(Checkpoints(many[..LeaseLimits.MaxCheckpointsPerCommand])));
        Assert.Equal(new LeaseInfo(1, 60, 5), s.Store.FindLease(1));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void ACheckpointPassesTheNospaceAlarmButNotTheCorruptOne(string engine)
    {
        using var s = Of(engine);
        s.Grant(1);
        Ok(s.Apply(new KvCommand { Alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Activate, Alarm = AlarmType.Nospace, MemberID = 1 } }));
        Ok(s.Apply(Checkpoints((1, 9))));
        Assert.Equal(9, s.Store.FindLease(1)!.RemainingTtlSeconds);
        Ok(s.Apply(new KvCommand { Alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Activate, Alarm = AlarmType.Corrupt, MemberID = 1 } }));
        Assert.Equal(KvError.Corrupt, s.Apply(Checkpoints((1, 3))).Error);
        Assert.Equal(9, s.Store.FindLease(1)!.RemainingTtlSeconds);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void ARevokeAfterACheckpointRemovesTheLeaseAndAGrantAgainStartsWithNone(string engine)
    {
        using var s = Of(engine);
        s.Grant(1);
        s.Put("k", "v", lease: 1);
        Ok(s.Apply(Checkpoints((1, 9))));
        Ok(s.TryRevoke(1));
        Assert.Null(s.Store.FindLease(1));
        s.Grant(1);
        Assert.Equal(new LeaseInfo(1, 60, 0), s.Store.FindLease(1));
        s.Store.CheckInvariants();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void CheckpointsSurviveASnapshotRestore(string engine)
    {
        using var s = Of(engine);
        s.Grant(1, 2, -3);
        s.Put("k", "v", lease: 2);
        Ok(s.Apply(Checkpoints((1, 11), (-3, 33))));
        s.SnapshotAndRestore();
        Assert.Equal([new LeaseInfo(-3, 60, 33), new LeaseInfo(1, 60, 11), new LeaseInfo(2, 60, 0)], s.Store.Leases(10));
        Assert.Equal([B("k")], s.Store.LeaseKeys(2, 10));
        s.Store.CheckInvariants();
    }

    [Fact]
    public void CheckpointsSurviveADiskReopenAndTravelInADiskSnapshotStream()
    {
        using var leader = OnDisk();
        leader.Grant(1, 2);
        Ok(leader.Apply(Checkpoints((1, 11))));
        leader.Reopen();
        Assert.Equal([new LeaseInfo(1, 60, 11), new LeaseInfo(2, 60, 0)], leader.Store.Leases(10));

        using var follower = OnDisk();
        using var stream = new MemoryStream();
        leader.Store.WriteSnapshot(stream);
        stream.Position = 0;
        follower.Store.ReceiveSnapshot(stream, CancellationToken.None);
        Assert.Equal([new LeaseInfo(1, 60, 11), new LeaseInfo(2, 60, 0)], follower.Store.Leases(10));
        follower.Store.CheckInvariants();
    }

    [Fact]
    public void AMemorySnapshotEstimatesItsSizeExactlyWithCheckpoints()
    {
        using var s = new TestStore();
        s.Grant(1, 2);
        Ok(s.Apply(Checkpoints((1, 11))));
        using var buffer = new MemoryStream();
        s.Store.WriteSnapshot(buffer);
        Assert.Equal(buffer.Length, s.Store.CaptureSnapshot().EstimatedBytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AMemorySnapshotOfAnOlderFormatStillRestores(int format)
    {
        using var s = new TestStore();
        s.Grant(1, 2);
        s.Put("k", "v", lease: 1);
        Ok(s.Apply(Checkpoints((1, 11))));
        using var buffer = new MemoryStream();
        s.Store.WriteSnapshotInFormat(buffer, format);
        buffer.Position = 0;
        using var restored = KvStore.Restore(buffer);

        // Format 2 had leases but no checkpoints; format 1 had neither (and so no attachments).
        Assert.Equal(format == 1 ? Array.Empty<LeaseInfo>() : [new LeaseInfo(1, 60), new LeaseInfo(2, 60)], restored.Leases(10));
        Assert.Equal(format == 1 ? Array.Empty<Google.Protobuf.ByteString>() : [B("k")], restored.LeaseKeys(1, 10));
        Assert.Equal(s.Store.Hash().Hash, restored.Hash().Hash);
        restored.CheckInvariants();
    }

    [Fact]
    public void ADiskLeaseRecordOfTheFormatBeforeCheckpointsReadsAsNoCheckpoint()
    {
        Assert.Equal((60L, 0L), DiskLeaseKeys.DecodeRecord(DiskLeaseKeys.EncodeRecordBeforeCheckpoints(60)));
        Assert.Equal((60L, 11L), DiskLeaseKeys.DecodeRecord(DiskLeaseKeys.EncodeRecord(60, 11)));

        // Damage is refused on read: a remaining TTL at or above the TTL, or negative, was never written.
        Assert.Throws<FormatException>(() => DiskLeaseKeys.DecodeRecord(DiskLeaseKeys.EncodeRecord(60, 60)));
        Assert.Throws<FormatException>(() => DiskLeaseKeys.DecodeRecord(DiskLeaseKeys.EncodeRecord(60, -1)));
        var unknown = DiskLeaseKeys.EncodeRecord(60, 1);
        unknown[0] = 3;
        Assert.Throws<FormatException>(() => DiskLeaseKeys.DecodeRecord(unknown));
    }
}
