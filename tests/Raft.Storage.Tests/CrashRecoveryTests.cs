using RaftKv.Raft.Storage.Tests.Support;
using Xunit.Abstractions;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>
/// A power loss at any point between two saves: everything a synced save wrote is back after reopening, and nothing
/// appears that no save wrote. Bytes written since the last sync may or may not have reached the disk, in any
/// order, sector by sector; each such crash state is rebuilt from a copy of the directory.
/// </summary>
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    private sealed record Boundary(string What, DirectoryImage Image, ulong DurableSequence, long DurableOffset, string State, bool Synced);

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(4, false)]
    public void A_crash_at_every_append_boundary_keeps_every_synced_save_and_invents_nothing(int seed, bool preallocate)
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("node");
        var options = TestOptions.Small(preallocate);
        var random = new Random(seed);
        var workload = new RandomWorkload(random);
        var boundaries = new List<Boundary>();
        using (var storage = DurableStorage.Open(root, options))
        {
            boundaries.Add(new Boundary("open", DirectoryImage.Capture(root), storage.DurablePosition.Sequence,
                storage.DurablePosition.OffsetBytes, LogAssert.Describe(storage), true));
            for (var op = 0; op < 60; op++)
            {
                var (what, synced) = workload.Step(storage, null);
                storage.DrainHousekeeping(); // deletions after a snapshot run in the background; the image is taken once they have
                var (seq, offset) = storage.DurablePosition;
                boundaries.Add(new Boundary(what, DirectoryImage.Capture(root), seq, offset, LogAssert.Describe(storage), synced));
            }
        }
        var target = dir.Sub("crash");
        var opens = 0;
        for (var k = 0; k < boundaries.Count; k++)
        {
            var b = boundaries[k];
            var lastSync = k;
            while (!boundaries[lastSync].Synced) lastSync--;
            var allowed = boundaries.Skip(lastSync).Take(k - lastSync + 1).Select(x => x.State).ToHashSet(StringComparer.Ordinal);
            var active = Path.Combine(DurableStorage.WalDirectoryName, $"{b.DurableSequence:D20}.wal");
            foreach (var variant in new[] { "lost", "prefix", "sectors" })
            {
                var crashRandom = new Random(seed * 1000 + k);
                b.Image.Materialize(target, (file, bytes) => file == active ? Crash(bytes, b.DurableOffset, variant, preallocate, crashRandom) : bytes);
                using var reopened = DurableStorage.Open(target, options);
                opens++;
                var state = LogAssert.Describe(reopened);
                var context = $"seed {seed}, boundary {k} after '{b.What}', crash variant '{variant}'";
                if (!allowed.Contains(state))
                    Assert.Fail($"{context}: the recovered state is none of the {allowed.Count} states since the last sync.\nrecovered:\n{state}\nlast synced:\n{boundaries[lastSync].State}");
                if (variant == "lost") Assert.True(boundaries[lastSync].State == state, $"{context}: with all unsynced bytes lost, the state must be the last synced one");
            }
        }
        output.WriteLine($"seed {seed}: {boundaries.Count} boundaries, {opens} crash states recovered");
    }

    /// <summary>What the active segment may look like after a power loss: durable bytes kept, later ones partly or not at all.</summary>
    private static byte[] Crash(byte[] bytes, long durable, string variant, bool preallocate, Random random)
    {
        if (durable >= bytes.Length) return bytes;
        const int sector = 512;
        switch (variant)
        {
            case "lost":
                return preallocate ? Zero(bytes, durable, bytes.Length) : bytes[..(int)durable];
            case "prefix":
                var cut = durable + random.NextInt64(bytes.Length - durable + 1);
                if (!preallocate) return bytes[..(int)cut]; // a growing file may end anywhere
                cut = Math.Max(durable, cut / sector * sector); // a preallocated one keeps whole sectors
                return Zero(bytes, cut, bytes.Length);
            default:
                // Each sector after the durable point independently reached the disk or not.
                for (var s = durable / sector * sector; s < bytes.Length; s += sector)
                {
                    if (random.Next(2) == 0) Zero(bytes, Math.Max(s, durable), Math.Min(bytes.Length, s + sector));
                }
                return bytes;
        }
    }

    private static byte[] Zero(byte[] bytes, long from, long to)
    {
        Array.Clear(bytes, (int)from, (int)(to - from));
        return bytes;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_crash_that_loses_a_new_segments_hard_state_does_not_lose_the_term_and_vote(bool preallocate)
    {
        // Paper figure 2: currentTerm and votedFor are persistent. A roll starts the new segment with the hard state,
        // but a crash before the next sync loses it; once the older segments are released, nothing else holds it.
        using var dir = new TempDirectory();
        var root = dir.Sub("node");
        var options = TestOptions.Small(preallocate) with { SnapshotsToRetain = 1 };
        var random = new Random(31);
        ulong next = 1;
        using (var storage = DurableStorage.Open(root, options))
        {
            while (storage.SegmentPaths.Count < 3)
            {
                storage.Save(null, [Data.Entry(next, 5, random, maxBytes: 300)], null, mustSync: true);
                storage.Save(new HardState(5, 2, next), [], null, mustSync: true);
                next++;
            }
        }
        // The crash: nothing of the newest segment after its header reached the disk.
        var walDir = Path.Combine(root, DurableStorage.WalDirectoryName);
        var newest = Directory.GetFiles(walDir, "*.wal").Order(StringComparer.Ordinal).Last();
        using (var file = File.Open(newest, FileMode.Open, FileAccess.ReadWrite))
        {
            const int header = Wal.WalFormat.SegmentHeaderSizeBytes;
            file.Position = header;
            if (preallocate) file.Write(new byte[file.Length - header]);
            else file.SetLength(header);
        }
        using (var storage = DurableStorage.Open(root, options))
        {
            Assert.Equal(5ul, storage.HardState.Term);
            Assert.Equal(2ul, storage.HardState.Vote);
            Assert.True(storage.HardState.Commit > 0);
            output.WriteLine(string.Join("; ", storage.Recovery.Notes));
            Assert.Contains(storage.Recovery.Notes, n => n.Contains("rewrote the hard state", StringComparison.Ordinal));
            // Restarted, the node applies up to the commit index it recovered and snapshots there before anything
            // else is written: the older segments, the only ones holding the term and vote, are released.
            storage.CreateSnapshot(storage.HardState.Commit, new ConfState([1, 2, 3]), Data.Bytes(random, 10));
        }
        using var reopened = DurableStorage.Open(root, options);
        Assert.Equal(5ul, reopened.HardState.Term);
        Assert.Equal(2ul, reopened.HardState.Vote);
    }
}
