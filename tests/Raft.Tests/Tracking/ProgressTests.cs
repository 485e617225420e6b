using RaftKv.Raft.Tracking;

namespace RaftKv.Raft.Tests.Tracking;

public sealed class ProgressTests
{
    [Fact]
    public void Probe_SendsOneMessageThenPausesUntilAnswered()
    {
        var pr = new Progress(next: 5, maxInflight: 4, maxInflightBytes: 0);
        Assert.False(pr.IsPaused);
        pr.SentEntries(2, 20, 6);
        Assert.True(pr.IsPaused);
        Assert.Equal(5UL, pr.Next); // probing does not advance Next optimistically
        Assert.True(pr.MaybeUpdate(6));
        Assert.False(pr.IsPaused);
        Assert.Equal(7UL, pr.Next);
    }

    [Fact]
    public void Replicate_AdvancesOptimisticallyAndPausesWhenTheWindowIsFull()
    {
        var pr = new Progress(next: 1, maxInflight: 2, maxInflightBytes: 0);
        pr.MaybeUpdate(0);
        pr.BecomeReplicate();
        pr.SentEntries(3, 30, 3);
        pr.SentEntries(3, 30, 6);
        Assert.Equal(7UL, pr.Next);
        Assert.True(pr.IsPaused);
        pr.MaybeUpdate(3);
        pr.Inflights.FreeLE(3);
        Assert.False(pr.IsPaused);
    }

    [Fact]
    public void MaybeDecrTo_InProbe_UsesTheHintButNeverGoesBelowMatch()
    {
        var pr = new Progress(next: 11, maxInflight: 4, maxInflightBytes: 0);
        pr.MaybeUpdate(3);
        // Stale rejection (not for the index we probed): ignored.
        Assert.False(pr.MaybeDecrTo(rejected: 5, matchHint: 2));
        Assert.True(pr.MaybeDecrTo(rejected: 10, matchHint: 6));
        Assert.Equal(7UL, pr.Next);
        Assert.True(pr.MaybeDecrTo(rejected: 6, matchHint: 0));
        Assert.Equal(4UL, pr.Next); // Match + 1
    }

    [Fact]
    public void MaybeDecrTo_InReplicate_IgnoresRejectionsAtOrBelowMatch()
    {
        var pr = new Progress(next: 1, maxInflight: 4, maxInflightBytes: 0);
        pr.MaybeUpdate(5);
        pr.BecomeReplicate();
        pr.SentEntries(5, 50, 10);
        Assert.False(pr.MaybeDecrTo(rejected: 5, matchHint: 0));
        Assert.True(pr.MaybeDecrTo(rejected: 8, matchHint: 0));
        Assert.Equal(6UL, pr.Next);
    }

    [Fact]
    public void Snapshot_PausesUntilItIsAcknowledged()
    {
        var pr = new Progress(next: 1, maxInflight: 4, maxInflightBytes: 0);
        pr.BecomeSnapshot(100);
        Assert.True(pr.IsPaused);
        pr.BecomeProbe();
        Assert.Equal(101UL, pr.Next);
        pr.BecomeSnapshot(100);
        pr.AbortSnapshot();
        Assert.Equal(1UL, pr.Next);
    }
}
