using RaftKv.Kv.Snapshots;

namespace RaftKv.Kv;

/// <summary>
/// A frozen, immutable view of a whole <see cref="KvStore"/> as of the moment <see cref="KvStore.CaptureSnapshot"/>
/// took it, ready to be serialized with <see cref="WriteTo"/> without holding up the store.
/// </summary>
/// <remarks>
/// Thread-safe: it shares nothing mutable with the store, so it can be written any number of times, from any thread,
/// concurrently, while the store keeps applying and compacting, and after the store is disposed. It keeps the
/// captured keys and values alive (they are shared with the store, not copied) until it is dropped, and holds about
/// 50 bytes per version of its own.
/// </remarks>
public sealed class KvStoreSnapshot
{
    private readonly FrozenState state;
    private long estimatedBytes = -1;

    internal KvStoreSnapshot(FrozenState state) => this.state = state;

    /// <summary>Index of the last Raft entry applied at capture (0 before any).</summary>
    public ulong AppliedIndex => state.AppliedIndex;

    /// <summary>The store revision at capture (1 when empty).</summary>
    public long Revision => state.CurrentRevision;

    /// <summary>The compaction revision at capture; -1 when never compacted.</summary>
    public long CompactRevision => state.CompactRevision;

    /// <summary>Number of keys with at least one retained version, tombstones included.</summary>
    public int KeyCount => state.KeyCount;

    /// <summary>Number of retained versions, tombstones included.</summary>
    public long VersionCount => state.VersionCount;

    /// <summary>
    /// The size of what <see cref="WriteTo"/> writes, to pre-size a buffer: never below the written length, and in
    /// this format version exactly equal to it (records plus framing). Computed on first use (O(versions)), so a
    /// capture on a latency-sensitive thread does not pay for it.
    /// </summary>
    public long EstimatedBytes
    {
        get
        {
            var bytes = Volatile.Read(ref estimatedBytes);
            if (bytes < 0)
            {
                bytes = SnapshotCodec.StreamBytes(state); // idempotent: a race computes the same value twice
                Volatile.Write(ref estimatedBytes, bytes);
            }

            return bytes;
        }
    }

    /// <summary>
    /// Writes the snapshot to <paramref name="destination"/> as it streams (64 KiB frames with checksums), in the
    /// format <see cref="KvStore.Restore"/> reads, then flushes it. Every call writes the same bytes.
    /// </summary>
    /// <exception cref="ArgumentException">When <paramref name="destination"/> is not writable.</exception>
    public void WriteTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        SnapshotCodec.Write(state, destination);
    }
}
