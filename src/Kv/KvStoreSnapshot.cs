using RaftKv.Kv.Engine;

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
    private readonly SnapshotImage image;

    internal KvStoreSnapshot(SnapshotImage image) => this.image = image;

    /// <summary>Index of the last Raft entry applied at capture (0 before any).</summary>
    public ulong AppliedIndex => image.AppliedIndex;

    /// <summary>The store revision at capture (1 when empty).</summary>
    public long Revision => image.Revision;

    /// <summary>The compaction revision at capture; -1 when never compacted.</summary>
    public long CompactRevision => image.CompactRevision;

    /// <summary>Number of keys with at least one retained version, tombstones included; -1 when the disk engine would need a scan to tell.</summary>
    public int KeyCount => image.KeyCount;

    /// <summary>Number of retained versions, tombstones included.</summary>
    public long VersionCount => image.VersionCount;

    /// <summary>
    /// The size of what <see cref="WriteTo"/> writes, to pre-size a buffer: never below the written length (the
    /// in-memory engine's is exact; 0 when unknown). Computed on first use, so a capture on a latency-sensitive thread
    /// does not pay for it.
    /// </summary>
    public long EstimatedBytes => image.EstimatedBytes;

    /// <summary>
    /// Writes the snapshot to <paramref name="destination"/> as it streams (frames with checksums), in the format
    /// <see cref="KvStore.ReplaceWith"/> of the same engine reads, then flushes it. Every call writes the same bytes.
    /// </summary>
    /// <exception cref="ArgumentException">When <paramref name="destination"/> is not writable.</exception>
    public void WriteTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        image.WriteTo(destination);
    }
}
