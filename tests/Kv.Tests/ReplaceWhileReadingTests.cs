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
    public async Task ReadsRacingSnapshotInstalls_SeeOneWholeStateOrTheOther(string engine)
    {
        using var source = TestStore.Of(engine);
        for (var i = 0; i < 50; i++) source.Put($"k{i:D2}", "old");
        var oldSnapshot = Snapshot(source.Store);
        for (var i = 0; i < 50; i++) source.Put($"k{i:D2}", "new");
        var newSnapshot = Snapshot(source.Store);

        using var target = TestStore.Of(engine);
        target.Store.ReplaceWith(new MemoryStream(oldSnapshot));
        var store = target.Store;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var reads = 0;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var values = store.Range(new RangeRequest { Key = B("k"), RangeEnd = KeyRanges.PrefixEnd(B("k").Span) }).Kvs.Select(kv => kv.Value.ToStringUtf8()).Distinct().ToArray();
                Assert.Single(values);
                Interlocked.Increment(ref reads);
            }
        })).ToArray();

        // Bounded by the token: at least 200 installs (on disk, where each builds and opens a database, what 2 s allow),
        // and on until the readers have read 200 times.
        var installs = 0;
        for (var round = 0; !stop.IsCancellationRequested && (round < 200 || Volatile.Read(ref reads) < 200); round++)
        {
            store.ReplaceWith(new MemoryStream(round % 2 == 0 ? newSnapshot : oldSnapshot));
            installs++;
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.True(reads >= 200, $"only {reads} reads raced the installs");
        Assert.True(installs >= 3, $"only {installs} installs raced the reads");
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
