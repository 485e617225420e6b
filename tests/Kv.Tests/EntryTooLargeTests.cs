using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

/// <summary>
/// The disk store writes an entry in one atomic batch of bounded size. An entry that needs more (here with a limit of
/// 100 operations: a delete of 60 keys needs 120) must be refused the same way on every member and change nothing, not
/// throw out of apply: a throw there would stop every member at the same entry, for good.
/// </summary>
public sealed class EntryTooLargeTests
{
    private const int Limit = 100;

    [Fact]
    public void ADeleteOfTooManyKeys_IsRefusedWhole_OnEveryMember()
    {
        using var a = Small();
        using var b = Small();
        foreach (var s in new[] { a, b })
        {
            for (var i = 0; i < 60; i++) s.Put($"k{i:D2}", "v");
        }

        var before = (a.Store.Revision, a.Store.HashKV(0).Hash, a.Store.SizeBytes, a.Store.VersionCount);
        var delete = new KvCommand { DeleteRange = new DeleteRangeRequest { Key = B("k"), RangeEnd = KeyRanges.PrefixEnd(B("k").Span) } };
        var refusedA = a.Apply(delete);
        var refusedB = b.Apply(delete);
        Assert.Equal(KvError.EntryTooLarge, refusedA.Error);
        Assert.Equal(KvError.EntryTooLarge, refusedB.Error);
        Assert.Equal(before, (a.Store.Revision, a.Store.HashKV(0).Hash, a.Store.SizeBytes, a.Store.VersionCount));
        Assert.Equal(a.Store.Hash().Hash, b.Store.Hash().Hash);
        Assert.Equal(60, a.Prefix("k").Count);
        a.Store.CheckInvariants();

        // Smaller ranges go through.
        Assert.Equal(30, a.Delete("k00", "k30").Deleted);
        Assert.Equal(30, a.Prefix("k").Count);
    }

    [Fact]
    public void ACompactionOverTooLongAHistory_IsRefused_AndAnEarlierOneGoesThrough()
    {
        using var s = Small();
        for (var i = 0; i < 80; i++) s.Put("hot", $"{i}");
        var last = s.Store.Revision;
        var refused = s.TryCompact(last);
        Assert.Equal(KvError.EntryTooLarge, refused.Error);
        Assert.Equal(-1, s.Store.CompactRevision);
        Assert.Equal(80, s.Store.VersionCount);

        s.Compact(last - 50); // about 60 operations
        s.Compact(last);
        Assert.Equal(1, s.Store.VersionCount);
        Assert.Equal($"{79}", s.Value("hot"));
        s.Store.CheckInvariants();
    }

    private static TestStore Small() => TestStore.OnDisk(operationsMax: Limit);
}
