using RaftKv.Raft.Tracking;

namespace RaftKv.Raft.Tests.Tracking;

public sealed class InflightsTests
{
    [Fact]
    public void FillsUpToTheCountLimit_AndFreesInOrder()
    {
        var inflights = new Inflights(maxCount: 3, maxBytes: 0);
        inflights.Add(10, 100);
        inflights.Add(20, 100);
        Assert.False(inflights.Full);
        inflights.Add(30, 100);
        Assert.True(inflights.Full);
        Assert.Throws<RaftInvariantException>(() => inflights.Add(40, 1));

        inflights.FreeLE(20);
        Assert.Equal(1, inflights.Count);
        Assert.Equal(100, inflights.Bytes);
        inflights.Add(40, 1);
        inflights.Add(50, 1); // wraps around the ring
        Assert.True(inflights.Full);
        inflights.FreeLE(45);
        Assert.Equal(1, inflights.Count);
        Assert.Equal(1, inflights.Bytes);
    }

    [Fact]
    public void ByteLimit_MakesItFullBeforeTheCount()
    {
        var inflights = new Inflights(maxCount: 100, maxBytes: 250);
        inflights.Add(1, 100);
        inflights.Add(2, 100);
        Assert.False(inflights.Full);
        inflights.Add(3, 100);
        Assert.True(inflights.Full);
    }

    [Fact]
    public void IndexesMustIncrease()
    {
        var inflights = new Inflights(4, 0);
        inflights.Add(5, 1);
        Assert.Throws<RaftInvariantException>(() => inflights.Add(5, 1));
    }
}
