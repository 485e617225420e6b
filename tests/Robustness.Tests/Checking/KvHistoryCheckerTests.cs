using RaftKv.Robustness.Checking;

namespace RaftKv.Robustness.Tests.Checking;

/// <summary>
/// The checker on known-good and known-bad histories (issue 16): linearizability as Herlihy and Wing define it,
/// which Raft's reads through the log or ReadIndex promise (Raft paper section 8), and etcd's revision rules.
/// </summary>
public sealed class KvHistoryCheckerTests
{
    private static KvCheckReport Check(H h) => KvHistoryChecker.Check(h.Operations);

    private static void AssertOk(H h)
    {
        var report = Check(h);
        Assert.True(report.Passed, report.Describe());
    }

    private static KvCheckReport AssertNotLinearizable(H h)
    {
        var report = Check(h);
        Assert.Equal(Verdict.Illegal, report.Linearizable);
        return report;
    }

    [Fact]
    public void SequentialPutGetDelete_IsLinearizable() => AssertOk(new H()
        .Put(1, 0, 1, "a", "1", revision: 2)
        .Get(1, 2, 3, "a", "1", modRevision: 2, revision: 2)
        .Delete(1, 4, 5, "a", deleted: true, revision: 3)
        .Get(1, 6, 7, "a", null, modRevision: 0, revision: 3)
        .Delete(1, 8, 9, "a", deleted: false, revision: 3));

    [Theory]
    [InlineData(null, 0L)]
    [InlineData("1", 2L)]
    public void AReadConcurrentWithAWrite_MaySeeEitherSide(string? value, long modRevision) => AssertOk(new H()
        .Put(1, 0, 10, "a", "1", revision: 2)
        .Get(2, 5, 6, "a", value, modRevision, revision: modRevision == 0 ? 1 : 2));

    [Fact]
    public void AStaleRead_AfterTheWriteReturned_IsCaught()
    {
        var report = AssertNotLinearizable(new H()
            .Put(1, 0, 1, "a", "1", revision: 2)
            .Get(2, 2, 3, "a", null, modRevision: 0, revision: 2));
        Assert.Contains("get(a)", report.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void ALostWrite_IsCaught() => AssertNotLinearizable(new H()
        .Put(1, 0, 1, "a", "1", revision: 2)
        .Put(1, 2, 3, "a", "2", revision: 3)
        .Get(2, 4, 5, "a", "1", modRevision: 2, revision: 3));

    [Fact]
    public void AValueNobodyWrote_IsCaught() => AssertNotLinearizable(new H()
        .Put(1, 0, 1, "a", "1", revision: 2)
        .Get(2, 2, 3, "a", "x", modRevision: 2, revision: 2));

    [Fact]
    public void TheRightValueAtTheWrongModRevision_IsCaught() => AssertNotLinearizable(new H()
        .Put(1, 0, 1, "a", "1", revision: 2)
        .Get(2, 2, 3, "a", "1", modRevision: 5, revision: 5));

    [Fact]
    public void AnIndeterminateWriteThatHappened_IsAccepted_AndReadsThenAgreeOnItsRevision() => AssertOk(new H()
        .PutUnknown(1, 0, "a", "1")
        .Get(2, 5, 6, "a", "1", modRevision: 7, revision: 7)
        .Get(2, 8, 9, "a", "1", modRevision: 7, revision: 8));

    [Fact]
    public void AnIndeterminateWriteThatHappened_CannotChangeItsRevisionLater() => AssertNotLinearizable(new H()
        .PutUnknown(1, 0, "a", "1")
        .Get(2, 5, 6, "a", "1", modRevision: 7, revision: 7)
        .Get(2, 8, 9, "a", "1", modRevision: 8, revision: 8));

    [Fact]
    public void AnIndeterminateWriteThatNeverHappened_IsAccepted() => AssertOk(new H()
        .PutUnknown(1, 0, "a", "1")
        .Get(2, 5, 6, "a", null, modRevision: 0, revision: 1)
        .Get(2, 50, 60, "a", null, modRevision: 0, revision: 1));

    [Fact]
    public void AnIndeterminateWrite_CannotTakeEffectBeforeItWasCalled() => AssertNotLinearizable(new H()
        .Get(2, 0, 1, "a", "1", modRevision: 2, revision: 2)
        .PutUnknown(1, 5, "a", "1"));

    [Fact]
    public void CompareAndPut_SucceedsOnlyAtTheExpectedModRevision()
    {
        AssertOk(new H()
            .Put(1, 0, 1, "a", "1", revision: 2)
            .Cas(1, 2, 3, "a", expected: 2, "2", succeeded: true, revision: 3)
            .Cas(1, 4, 5, "a", expected: 2, "3", succeeded: false, revision: 3)
            .Cas(1, 6, 7, "b", expected: 0, "new", succeeded: true, revision: 4));
        AssertNotLinearizable(new H()
            .Put(1, 0, 1, "a", "1", revision: 2)
            .Cas(1, 2, 3, "a", expected: 2, "2", succeeded: true, revision: 3)
            .Cas(1, 4, 5, "a", expected: 2, "3", succeeded: true, revision: 4));
    }

    [Fact]
    public void TwoRacingCompareAndPuts_OnlyOneMayWin()
    {
        AssertOk(new H()
            .Put(1, 0, 1, "a", "1", revision: 2)
            .Cas(2, 2, 10, "a", expected: 2, "x", succeeded: true, revision: 3)
            .Cas(3, 2, 10, "a", expected: 2, "y", succeeded: false, revision: 3));
        AssertNotLinearizable(new H()
            .Put(1, 0, 1, "a", "1", revision: 2)
            .Cas(2, 2, 10, "a", expected: 2, "x", succeeded: true, revision: 3)
            .Cas(3, 2, 10, "a", expected: 2, "y", succeeded: true, revision: 4));
    }

    [Fact]
    public void AnIndeterminateCompareAndPut_MayHaveGoneEitherWay() => AssertOk(new H()
        .Put(1, 0, 1, "a", "1", revision: 2)
        .CasUnknown(2, 2, "a", expected: 2, "x")
        .Get(3, 5, 6, "a", "1", modRevision: 2, revision: 2)
        .Get(3, 7, 8, "a", "x", modRevision: 3, revision: 3));

    [Fact]
    public void ARevisionGoingBack_IsCaught()
    {
        var report = Check(new H()
            .Put(1, 0, 1, "a", "1", revision: 10)
            .Get(2, 2, 3, "b", null, modRevision: 0, revision: 9));
        Assert.Equal(Verdict.Ok, report.Linearizable); // per key all is well: only the store-wide rule sees it
        Assert.Contains(report.RevisionProblems, p => p.StartsWith("revision went back", StringComparison.Ordinal));
    }

    [Fact]
    public void TwoWritesAtOneRevision_AreCaught()
    {
        var report = Check(new H()
            .Put(1, 0, 10, "a", "1", revision: 5)
            .Put(2, 0, 10, "b", "1", revision: 5));
        Assert.Contains(report.RevisionProblems, p => p.StartsWith("two acknowledged writes at revision 5", StringComparison.Ordinal));
    }

    [Fact]
    public void AWriteThatDoesNotAdvanceTheRevision_IsCaught()
    {
        var report = Check(new H()
            .Get(1, 0, 1, "a", null, modRevision: 0, revision: 5)
            .Put(2, 2, 3, "b", "1", revision: 5));
        Assert.Contains(report.RevisionProblems, p => p.StartsWith("a write did not advance the revision", StringComparison.Ordinal));
    }

    [Fact]
    public void AModRevisionAboveTheReadRevision_IsCaught()
    {
        var report = Check(new H().Get(1, 0, 1, "a", null, modRevision: 0, revision: 1).Put(1, 2, 3, "a", "1", 2).Get(1, 4, 5, "a", "1", 2, revision: 1));
        Assert.Contains(report.RevisionProblems, p => p.StartsWith("mod revision above the revision read at", StringComparison.Ordinal));
    }

    [Fact]
    public void OverlappingOperationsOfOneClient_AreARecorderBug()
    {
        var e = Assert.Throws<ArgumentException>(() => Check(new H()
            .Put(1, 0, 10, "a", "1", revision: 2)
            .Put(1, 5, 6, "a", "2", revision: 3)));
        Assert.Contains("overlapping operations", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALostWriteNobodyRead_IsLeftOut() => AssertOk(new H()
        .Put(1, 0, 1, "a", "1", revision: 2)
        .PutUnknown(2, 2, "a", "lost")
        .Get(3, 5, 6, "a", "1", modRevision: 2, revision: 2));

    [Fact]
    public void AClientGoesOnAfterAnUnknownOutcome() => AssertOk(new H()
        .PutUnknown(1, 0, "a", "1")
        .Put(1, 2, 3, "a", "2", revision: 3));

    [Fact]
    public void TheSearchIsBoundedByItsBudget()
    {
        // Twelve racing writes with lost answers, each value read later at one mod revision: impossible (a revision
        // belongs to one write), but only after trying the orders of the writes.
        var h = new H();
        for (var c = 0; c < 12; c++) h.PutUnknown(c, 0, "a", $"v{c}");
        for (var c = 0; c < 12; c++) h.Get(99, 100 + 2 * c, 101 + 2 * c, "a", $"v{c}", modRevision: 3, revision: 3);
        var result = LinearizabilityChecker.CheckKey("a", h.Operations, stepBudget: 50);
        Assert.Equal(Verdict.Unknown, result.Verdict);
        Assert.Equal(51, result.Steps);
    }
}
