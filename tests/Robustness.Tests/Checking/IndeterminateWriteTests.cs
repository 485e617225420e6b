using RaftKv.Robustness.Checking;
using RaftKv.Robustness.Logs;
using RaftKv.Robustness.Tests.Logs;

namespace RaftKv.Robustness.Tests.Checking;

/// <summary>
/// Writes whose answers were lost, resolved from the committed logs (issue 16, as etcd's robustness suite does from
/// its WALs): one the log shows committed must be linearized before the completed writes after it in the log
/// returned; one no log can hold is dropped. Without the logs the same histories pass, since a lost write may then
/// take effect at any time after its call, or never.
/// </summary>
public sealed class IndeterminateWriteTests
{
    private static KvCheckReport Check(H h, params Dump[] dumps) =>
        KvHistoryChecker.Check(IndeterminateWrites.Resolve(h.Operations, [.. dumps.Select((d, i) => d.Parse(((char)('A' + i)).ToString()))]).Operations);

    // put(a, 1) completed at index 2; put(a, x) lost; a read then sees x.
    private static H ReadOfALostWrite() => new H()
        .Put(1, 0, 1, "a", "1", revision: 2)
        .PutUnknown(2, 2, "a", "x")
        .Get(1, 5, 6, "a", "x", modRevision: 3, revision: 3);

    [Fact]
    public void AReadOfALostWrite_WithoutLogs_IsLinearizable() => Assert.True(Check(ReadOfALostWrite()).Passed);

    [Fact]
    public void AReadOfALostWrite_ThatNoLogHolds_IsIllegal()
    {
        var report = Check(ReadOfALostWrite(), new Dump(snapshotIndex: 0, commit: 2).NoOp().Put("a", "1"));
        Assert.Equal(Verdict.Illegal, report.Linearizable);
    }

    [Fact]
    public void AReadOfALostWrite_ThatTheLogHolds_IsLinearizable() =>
        Assert.True(Check(ReadOfALostWrite(), new Dump(snapshotIndex: 0, commit: 3).NoOp().Put("a", "1").Put("a", "x")).Passed);

    [Fact]
    public void ALostWrite_OnlyAboveTheCommitIndex_StaysOptional()
    {
        var resolved = IndeterminateWrites.Resolve(ReadOfALostWrite().Operations, [new Dump(snapshotIndex: 0, commit: 2).NoOp().Put("a", "1").Put("a", "x").Parse()]);
        Assert.Equal(WriteFate.Unresolved, Assert.Single(resolved.Resolutions).Fate);
        Assert.True(KvHistoryChecker.Check(resolved.Operations).Passed);
    }

    [Fact]
    public void ALostWrite_InNoLogThatReachesBackFarEnough_StaysOptional()
    {
        // The only log starts after a snapshot at 5, and nothing places the write above it.
        var h = new H().PutUnknown(2, 0, "a", "x").Get(1, 5, 6, "a", "x", modRevision: 3, revision: 3);
        var resolved = IndeterminateWrites.Resolve(h.Operations, [new Dump(snapshotIndex: 5, commit: 6).Put("b", "1").Parse()]);
        Assert.Equal(WriteFate.Unresolved, Assert.Single(resolved.Resolutions).Fate);
        Assert.True(KvHistoryChecker.Check(resolved.Operations).Passed);
    }

    [Fact]
    public void ALogAfterASnapshot_CoversALostWriteCalledAfterAWriteInIt()
    {
        // put(b, 1) returned before put(a, x) was called, at index 6 of a log that starts at 6: x could only be above.
        var h = new H().Put(1, 0, 1, "b", "1", revision: 2).PutUnknown(2, 2, "a", "x").Get(1, 5, 6, "a", "x", modRevision: 3, revision: 3);
        var resolved = IndeterminateWrites.Resolve(h.Operations, [new Dump(snapshotIndex: 5, commit: 6).Put("b", "1").Parse()]);
        Assert.Equal(WriteFate.NeverApplied, Assert.Single(resolved.Resolutions).Fate);
        Assert.Equal(Verdict.Illegal, KvHistoryChecker.Check(resolved.Operations).Linearizable);
    }

    [Fact]
    public void ALostWrite_IsOnlyDropped_WhenTheCoveringLogHasTheHighestCommitIndex()
    {
        // A is complete from index 1 but behind (commit 2); B has committed more but starts after a snapshot at 10.
        var resolved = IndeterminateWrites.Resolve(ReadOfALostWrite().Operations,
        [
            new Dump(snapshotIndex: 0, commit: 2).NoOp().Put("a", "1").Parse("A"),
            new Dump(snapshotIndex: 10, commit: 11).Put("b", "2").Parse("B"),
        ]);
        Assert.Equal(WriteFate.Unresolved, Assert.Single(resolved.Resolutions).Fate);
    }

    // put(a, x) lost, committed at index 2; put(b, y) completed at index 3 (returned at 2); then a read of a sees nothing.
    private static H ReadMissingACommittedWrite() => new H()
        .PutUnknown(1, 0, "a", "x")
        .Put(2, 1, 2, "b", "y", revision: 3)
        .Get(2, 3, 4, "a", null, modRevision: 0, revision: 3);

    [Fact]
    public void AReadMissingALostWrite_WithoutLogs_IsLinearizable() => Assert.True(Check(ReadMissingACommittedWrite()).Passed);

    [Fact]
    public void AReadMissingALostWrite_ThatWasCommittedBeforeACompletedOne_IsIllegal()
    {
        var dump = new Dump(snapshotIndex: 0, commit: 3).NoOp().Put("a", "x").Put("b", "y");
        var resolved = IndeterminateWrites.Resolve(ReadMissingACommittedWrite().Operations, [dump.Parse()]);
        var applied = Assert.Single(resolved.Operations, o => o.Input.Value == "x");
        Assert.Equal(2, applied.AppliedBy); // put(b, y) returned at 2
        Assert.Equal(applied, Assert.Single(resolved.Resolutions).Operation);
        var report = KvHistoryChecker.Check(resolved.Operations);
        Assert.Equal(Verdict.Illegal, report.Linearizable);
        Assert.Contains("applied by 2", report.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void ACommittedLostWrite_WithNothingAfterItInTheLog_MayStillGoLast() =>
        // Committed after put(b, y): nothing bounds when it was applied, so the read before it is fine.
        Assert.True(Check(ReadMissingACommittedWrite(), new Dump(snapshotIndex: 0, commit: 3).NoOp().Put("b", "y").Put("a", "x")).Passed);

    [Fact]
    public void ACommittedLostCompareAndPut_WhoseComparisonHeld_MustHaveWritten()
    {
        // cas(a, absent, x) lost but in the log before put(b, y): a was absent, so it wrote x before 2.
        var h = new H()
            .CasUnknown(1, 0, "a", expected: 0, "x")
            .Put(2, 1, 2, "b", "y", revision: 3)
            .Get(2, 3, 4, "a", null, modRevision: 0, revision: 3);
        Assert.True(Check(h).Passed);
        Assert.Equal(Verdict.Illegal, Check(h, new Dump(snapshotIndex: 0, commit: 3).NoOp().Cas("a", 0, "x").Put("b", "y")).Linearizable);
    }

    [Fact]
    public void ALostDelete_StaysUnresolved()
    {
        var h = new H().Put(1, 0, 1, "a", "1", revision: 2);
        h.Delete(1, 2, 3, "a", deleted: true, revision: 3);
        var lost = h.Operations.Select((o, i) => i == 1 ? o with { Output = null } : o).ToArray();
        var resolved = IndeterminateWrites.Resolve(lost, [new Dump(snapshotIndex: 0, commit: 3).NoOp().Put("a", "1").Delete("a").Parse()]);
        Assert.Equal(WriteFate.Unresolved, Assert.Single(resolved.Resolutions).Fate);
        Assert.Equal(2, resolved.Operations.Count);
    }

    [Fact]
    public void AnAcknowledgedWrite_MissingFromACompleteLog_IsReported()
    {
        var h = new H().Put(1, 0, 1, "a", "1", revision: 2).Put(1, 2, 3, "a", "2", revision: 3);
        var resolved = IndeterminateWrites.Resolve(h.Operations, [new Dump(snapshotIndex: 0, commit: 2).NoOp().Put("a", "1").Parse()]);
        Assert.Contains("put(a, 2)", Assert.Single(resolved.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutLogs_EveryLostWriteStaysUnresolved_AndTheHistoryIsUnchanged()
    {
        var resolved = IndeterminateWrites.Resolve(ReadOfALostWrite().Operations, []);
        Assert.Equal(ReadOfALostWrite().Operations, resolved.Operations);
        Assert.All(resolved.Resolutions, r => Assert.Equal(WriteFate.Unresolved, r.Fate));
    }
}
