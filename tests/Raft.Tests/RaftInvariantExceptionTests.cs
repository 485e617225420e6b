namespace RaftKv.Raft.Tests;

/// <summary>Invariant checks stay on in release builds but cost nothing while they hold.</summary>
public sealed class RaftInvariantExceptionTests
{
    /// <summary>Counts how often it is formatted into a message.</summary>
    private sealed class FormatCounter
    {
        public int Formatted { get; private set; }

        public override string ToString()
        {
            Formatted++;
            return "counted";
        }
    }

    [Fact]
    public void Assert_ThatHolds_DoesNotFormatItsMessage()
    {
        var counter = new FormatCounter();
        RaftInvariantException.Assert(true, $"never shown: {counter} at {42}");
        Assert.Equal(0, counter.Formatted);
    }

    [Fact]
    public void Assert_ThatFails_ThrowsWithTheFormattedMessage()
    {
        var counter = new FormatCounter();
        var e = Assert.Throws<RaftInvariantException>(() => RaftInvariantException.Assert(false, $"broken: {counter} at {42}"));
        Assert.Equal("broken: counted at 42", e.Message);
        Assert.Equal(1, counter.Formatted);
        Assert.Equal("plain", Assert.Throws<RaftInvariantException>(() => RaftInvariantException.Assert(false, "plain")).Message);
    }

    [Fact]
    public void Assert_ThatHolds_AllocatesNothing()
    {
        ulong index = 7;
        for (var i = 0; i < 100; i++) RaftInvariantException.Assert(index > 0, $"index {index} must be positive"); // warm up (JIT)
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++) RaftInvariantException.Assert(index > 0, $"index {index} must be positive");
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
