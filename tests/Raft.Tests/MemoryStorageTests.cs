namespace RaftKv.Raft.Tests;

public sealed class MemoryStorageTests
{
    private static Entry E(ulong index, ulong term, string data = "") => new(index, term, EntryType.Normal, System.Text.Encoding.UTF8.GetBytes(data));

    [Fact]
    public void Append_ReplacesAConflictingSuffix()
    {
        var s = new MemoryStorage();
        s.Append([E(1, 1), E(2, 1), E(3, 1)]);
        s.Append([E(2, 2), E(3, 2), E(4, 2)]);
        Assert.Equal(4UL, s.LastIndex);
        Assert.Equal(LogLookup.Ok, s.TryGetTerm(2, out var t));
        Assert.Equal(2UL, t);
        Assert.Throws<RaftInvariantException>(() => s.Append([E(9, 2)]));
    }

    [Fact]
    public void CreateSnapshot_CompactsAndKeepsTheBoundaryTerm()
    {
        var s = new MemoryStorage();
        s.Append([E(1, 1), E(2, 1), E(3, 2), E(4, 2)]);
        s.CreateSnapshot(3, new ConfState([1UL, 2, 3]), "state"u8.ToArray());
        Assert.Equal(4UL, s.FirstIndex);
        Assert.Equal(LogLookup.Ok, s.TryGetTerm(3, out var t));
        Assert.Equal(2UL, t);
        Assert.Equal(LogLookup.Compacted, s.TryGetTerm(2, out _));
        var into = new List<Entry>();
        Assert.Equal(LogLookup.Compacted, s.GetEntries(3, 5, long.MaxValue, into));
        Assert.Equal(LogLookup.Ok, s.GetEntries(4, 5, long.MaxValue, into));
        Assert.Single(into);
    }

    [Fact]
    public void GetEntries_RespectsTheByteLimitButReturnsAtLeastOne()
    {
        var s = new MemoryStorage();
        s.Append([E(1, 1, "aaaaaaaaaa"), E(2, 1, "bbbbbbbbbb"), E(3, 1, "cccccccccc")]);
        var into = new List<Entry>();
        s.GetEntries(1, 4, 1, into);
        Assert.Single(into);
        into.Clear();
        s.GetEntries(1, 4, 2 * (10 + Entry.EntryOverheadBytes), into);
        Assert.Equal(2, into.Count);
    }
}
