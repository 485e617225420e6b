using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

/// <summary>
/// A snapshot from the leader (Raft paper section 7) replaces the state while request threads read it: every read
/// sees the state before or after the install, whole, and never a disposed store. The server used to swap in a new
/// store and dispose the old one, so a reader holding the old one failed with ObjectDisposedException.
/// </summary>
public sealed class ReplaceWhileReadingTests
{
    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void ReadsRacingSnapshotInstalls_SeeOneWholeStateOrTheOther(string engine)
    {
        using var source = TestStore.Of(engine);
        for (var i = 0; i < 50; i++) source.Put($"k{i:D2}", "old");
        var oldSnapshot = Snapshot(source.Store);
        for (var i = 0; i < 50; i++) source.Put($"k{i:D2}", "new");
        var newSnapshot = Snapshot(source.Store);

        using var target = TestStore.Of(engine);
        target.Store.ReplaceWith(new MemoryStream(oldSnapshot));
        var store = target.Store;
        // The readers are threads of their own, not thread-pool tasks: CI ran this while other tests held the pool,
        // and pool readers that never started read 0 times in the 2 s the test then allowed. The loop ends on counts;
        // the 60 s deadline only bounds a failure.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var stop = 0;
        var reads = 0;
        Exception? failure = null;
        var readers = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            try
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    var values = store.Range(new RangeRequest { Key = B("k"), RangeEnd = KeyRanges.PrefixEnd(B("k").Span) }).Kvs.Select(kv => kv.Value.ToStringUtf8()).Distinct().ToArray();
                    Assert.Single(values);
                    Interlocked.Increment(ref reads);
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
            }
        }) { IsBackground = true }).ToArray();
        foreach (var reader in readers) reader.Start();

        // At least 200 installs and 200 reads that raced them, whichever takes longer.
        var installs = 0;
        while (DateTime.UtcNow < deadline && Volatile.Read(ref failure) is null && (installs < 200 || Volatile.Read(ref reads) < 200))
        {
            store.ReplaceWith(new MemoryStream(installs % 2 == 0 ? newSnapshot : oldSnapshot));
            installs++;
        }

        Volatile.Write(ref stop, 1);
        foreach (var reader in readers) Assert.True(reader.Join(TimeSpan.FromSeconds(30)), "a reader did not stop within 30 s");
        if (failure is not null) throw new Xunit.Sdk.XunitException($"a read racing the installs failed: {failure}");
        Assert.True(reads >= 200, $"only {reads} reads raced the installs");
        Assert.True(installs >= 200, $"only {installs} installs raced the reads");
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void ACorruptSnapshotChangesNothing(string engine)
    {
        using var s = TestStore.Of(engine);
        s.Put("a", "1");
        var before = s.Store.Hash().Hash;
        var corrupt = Snapshot(s.Store);
        corrupt[corrupt.Length / 2] ^= 0xff;
        Assert.Throws<KvSnapshotCorruptException>(() => s.Store.ReplaceWith(new MemoryStream(corrupt)));
        Assert.Equal(before, s.Store.Hash().Hash);
    }

    private static byte[] Snapshot(KvStore store)
    {
        using var buffer = new MemoryStream();
        store.WriteSnapshot(buffer);
        return buffer.ToArray();
    }
}
