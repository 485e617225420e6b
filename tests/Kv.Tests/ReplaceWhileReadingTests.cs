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
    [Fact]
    public async Task ReadsRacingSnapshotInstalls_SeeOneWholeStateOrTheOther()
    {
        using var source = new TestStore();
        for (var i = 0; i < 50; i++) source.Put($"k{i:D2}", "old");
        var oldSnapshot = Snapshot(source.Store);
        for (var i = 0; i < 50; i++) source.Put($"k{i:D2}", "new");
        var newSnapshot = Snapshot(source.Store);

        using var store = KvStore.Restore(new MemoryStream(oldSnapshot));
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

        // Bounded by the token: at least 200 installs, and on until the readers have read 200 times.
        for (var round = 0; !stop.IsCancellationRequested && (round < 200 || Volatile.Read(ref reads) < 200); round++)
        {
            store.ReplaceWith(new MemoryStream(round % 2 == 0 ? newSnapshot : oldSnapshot));
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.True(reads >= 200, $"only {reads} reads raced the installs");
    }

    [Fact]
    public void ACorruptSnapshotChangesNothing()
    {
        using var s = new TestStore();
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
