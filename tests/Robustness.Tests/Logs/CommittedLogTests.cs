using RaftKv.Robustness.Logs;

namespace RaftKv.Robustness.Tests.Logs;

/// <summary>The reader of <c>raftkv wal dump --json</c>: which puts a member's log holds, and where it starts.</summary>
public sealed class CommittedLogTests
{
    [Fact]
    public void CommittedPlainPuts_AreListedPerKey_AndTxnAndUncommittedPutsAreFoundButNotListed()
    {
        var log = new Dump(snapshotIndex: 0, commit: 4).NoOp().Put("a", "1").Cas("a", 2, "2").Put("b", "3").Put("a", "4").Parse();

        Assert.True(log.IsCompleteFromStart);
        Assert.Equal((4UL, 5UL), (log.CommitIndex, log.LastIndex));
        Assert.Equal(["1"], log.CommittedPutValues["a"].Order());
        Assert.Equal(["3"], log.CommittedPutValues["b"].Order());
        Assert.Equal(new LoggedPut(3, "a", "2", Committed: true, InTxn: true), log.Find("a", "2"));
        Assert.Equal(new LoggedPut(5, "a", "4", Committed: false, InTxn: false), log.Find("a", "4"));
        Assert.Null(log.Find("b", "1")); // the value is on another key
    }

    [Fact]
    public void ALogAfterASnapshot_IsNotCompleteFromStart()
    {
        var log = new Dump(snapshotIndex: 10, commit: 11).Put("a", "1").Parse();
        Assert.False(log.IsCompleteFromStart);
        Assert.Equal(11UL, log.Find("a", "1")!.Index);
    }

    [Fact]
    public void ACutValue_MayHoldEveryValueItBeginsLike_AndBase64OnesAreLeftOut()
    {
        var log = new Dump(snapshotIndex: 0, commit: 2).CutPut("a", "c1-", valueBytes: 300).Base64Put("a", "AAE=").Parse();
        Assert.True(log.MayHold("a", "c1-7"));
        Assert.False(log.MayHold("a", "c2-7"));
        Assert.Empty(log.Puts);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json\n")]
    [InlineData("{\"kind\":\"entry\",\"index\":1,\"committed\":true}\n")]
    public void TextThatIsNotADump_IsRefusedWithTheLine(string text)
    {
        var e = Assert.Throws<FormatException>(() => CommittedLog.Parse(new StringReader(text), "A"));
        Assert.StartsWith("A", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AGapInTheEntries_IsRefused()
    {
        var text = new Dump(snapshotIndex: 0, commit: 2).Put("a", "1").Put("a", "2").Text.Replace("\"index\":2", "\"index\":3", StringComparison.Ordinal);
        var e = Assert.Throws<FormatException>(() => CommittedLog.Parse(new StringReader(text), "A"));
        Assert.Contains("gap", e.Message, StringComparison.Ordinal);
    }
}
