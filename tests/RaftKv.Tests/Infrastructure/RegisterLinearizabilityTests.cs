namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// The register checker on known histories: it must accept every linearizable one and catch a stale read, a lost
/// write and a read from nowhere; a write of unknown outcome may or may not have happened.
/// </summary>
public sealed class RegisterLinearizabilityTests
{
    private static RegisterOp W(int client, string value, long from, long? to) => new(client, true, value, from, to);

    private static RegisterOp R(int client, string? value, long from, long to) => new(client, false, value, from, to);

    [Fact]
    public void Sequential_ReadsSeeTheLatestWrite()
    {
        Assert.Null(RegisterLinearizability.Check([R(0, null, 0, 1), W(0, "a", 2, 3), R(1, "a", 4, 5), W(1, "b", 6, 7), R(0, "b", 8, 9)]));
    }

    [Fact]
    public void OverlappingOperations_MayBeOrderedEitherWay()
    {
        // The read overlaps the write: it may see the old value or the new one.
        Assert.Null(RegisterLinearizability.Check([W(0, "a", 0, 1), W(1, "b", 2, 10), R(2, "a", 3, 4), R(2, "b", 5, 6)]));
        Assert.Null(RegisterLinearizability.Check([W(0, "a", 0, 1), W(1, "b", 2, 10), R(2, "b", 3, 4)]));
    }

    [Fact]
    public void AStaleRead_IsCaught()
    {
        // b completed before the read began, yet the read saw a.
        Assert.NotNull(RegisterLinearizability.Check([W(0, "a", 0, 1), W(0, "b", 2, 3), R(1, "a", 4, 5)]));
    }

    [Fact]
    public void ReadingANewValueThenAnOldOne_IsCaught()
    {
        // Once a client saw b, a later read cannot see a again (b's write completed before both reads).
        Assert.NotNull(RegisterLinearizability.Check([W(0, "a", 0, 1), W(1, "b", 2, 8), R(2, "b", 3, 4), R(2, "a", 5, 6)]));
    }

    [Fact]
    public void AReadOfAValueNeverWritten_IsCaught()
    {
        Assert.NotNull(RegisterLinearizability.Check([W(0, "a", 0, 1), R(1, "zzz", 2, 3)]));
    }

    [Fact]
    public void AnAcknowledgedWriteThatVanished_IsCaught()
    {
        Assert.NotNull(RegisterLinearizability.Check([W(0, "a", 0, 1), W(0, "b", 2, 3), R(1, null, 4, 5)]));
    }

    [Fact]
    public void AWriteOfUnknownOutcome_MayHaveHappenedLater_OrNever()
    {
        // Timed out at 1..?: seen long after it began (it happened late)...
        Assert.Null(RegisterLinearizability.Check([W(0, "x", 0, null), R(1, null, 2, 3), R(1, "x", 10, 11)]));
        // ...or never seen at all.
        Assert.Null(RegisterLinearizability.Check([W(0, "x", 0, null), R(1, null, 2, 3), R(1, null, 10, 11)]));
        // But it cannot be seen before it began.
        Assert.NotNull(RegisterLinearizability.Check([R(1, "x", 0, 1), W(0, "x", 2, null)]));
    }

    [Fact]
    public void ALongLinearizableHistory_IsCheckedQuickly()
    {
        var random = new Random(7);
        var history = new List<RegisterOp>();
        string? value = null;
        for (var t = 0L; t < 3000; t++)
        {
            // Sequential truth with some jitter that keeps each operation around its linearization point.
            if (random.Next(2) == 0)
            {
                value = $"v{t}";
                history.Add(W((int)(t % 3), value, (t * 10) - random.Next(0, 5), (t * 10) + random.Next(1, 5)));
            }
            else
            {
                history.Add(R((int)(t % 3), value, (t * 10) - random.Next(0, 5), (t * 10) + random.Next(1, 5)));
            }
        }
        Assert.Null(RegisterLinearizability.Check(history));
    }

    [Fact]
    public void AHistoryTooHardToDecide_GivesUpWithinItsBound_AndNeverPasses()
    {
        // 24 concurrent writes of unknown outcome, each read by a read overlapping everything, then a read of a value
        // nobody wrote: the orders of the writes and reads are far more states than the bound, none explains the end.
        var history = Enumerable.Range(0, 24).Select(i => W(i, $"u{i}", i, null))
            .Concat(Enumerable.Range(0, 24).Select(i => R(100 + i, $"u{i}", 50, 1000)))
            .Append(R(99, "nobody", 2000, 2001)).ToList();
        var verdict = RegisterLinearizability.Check(history);
        Assert.NotNull(verdict);
        Assert.Contains("undecided", verdict, StringComparison.Ordinal);
    }
}
