using Google.Protobuf;
using RaftKv.Kv.Alarms;

namespace RaftKv.Kv.Mvcc;

/// <summary>
/// What the executors read: one consistent state of the store, whichever engine holds it (the in-memory
/// <see cref="MvccState"/> or the disk engine's views). Versions are <see cref="RevisionEntry"/>s: a tombstone has a
/// null value. Keys come in etcd's order (bytewise), versions of one key in revision order.
/// </summary>
/// <remarks>Not thread-safe: one reader at a time; the engine hands out a view per read.</remarks>
internal interface IMvccView
{
    /// <summary>Revision of the newest write transaction this view shows; 1 for an empty store.</summary>
    long CurrentRevision { get; }

    /// <summary>Revision of the last compaction; -1 when never compacted.</summary>
    long CompactRevision { get; }

    /// <summary>
    /// Whether versions a committed compaction makes unreachable may still be stored: the disk engine carries a large
    /// compaction out in steps (<see cref="IMvccState.ContinueCompaction"/>). Reads never show such versions.
    /// </summary>
    bool CompactionPending { get; }

    /// <summary>Index of the last Raft entry applied.</summary>
    ulong AppliedIndex { get; }

    /// <summary>Estimated logical size, the figure the quota is checked against (the same on every member).</summary>
    long SizeBytes { get; }

    /// <summary>Number of retained versions, tombstones included.</summary>
    long EntryCount { get; }

    /// <summary>The raised alarms; do not change them through a view.</summary>
    AlarmSet Alarms { get; }

    /// <summary>The granted leases and their attached keys.</summary>
    Leases.ILeaseView Leases { get; }

    /// <summary>
    /// The server's opaque cluster record (membership) as of <see cref="AppliedIndex"/>; empty when none was ever set.
    /// Never longer than <see cref="KvStore.ClusterRecordMaxBytes"/>; its bytes never change once set (a new record is a new array).
    /// </summary>
    ReadOnlyMemory<byte> ClusterRecord { get; }

    /// <summary>
    /// The auth record (an encoded <see cref="Kv.AuthRecord"/>) as of <see cref="AppliedIndex"/>; empty when auth was
    /// never configured. Same limit and immutability as <see cref="ClusterRecord"/>.
    /// </summary>
    ReadOnlyMemory<byte> AuthRecord { get; }

    /// <summary>
    /// The newest version of <paramref name="key"/> with a main revision at most <paramref name="revision"/>, a
    /// tombstone included; false when the key had no version by then (or compaction removed it).
    /// </summary>
    bool TryGetVersion(ReadOnlySpan<byte> key, long revision, out RevisionEntry entry);

    /// <summary>
    /// The keys of <paramref name="range"/> that exist at <paramref name="revision"/>, in key order, each with its
    /// visible version (never a tombstone). Lazy: stop enumerating to stop reading.
    /// </summary>
    IEnumerable<KeyVersion> Live(KeyRange range, long revision);

    /// <summary>How many keys of <paramref name="range"/> exist at <paramref name="revision"/>.</summary>
    long CountLive(KeyRange range, long revision);

    /// <summary>
    /// The change history from main revision <paramref name="fromRevision"/> on, in revision order: each retained
    /// version with the version of the same key just before it (null when there is none, or it was compacted).
    /// </summary>
    IEnumerable<Change> Changes(long fromRevision);

    /// <summary>Every retained version with a main revision at most <paramref name="maxRevision"/>, in key order then revision order.</summary>
    IEnumerable<KeyVersion> AllVersions(long maxRevision);
}

/// <summary>One version of one key.</summary>
internal readonly record struct KeyVersion(ByteString Key, RevisionEntry Entry)
{
    /// <summary>The etcd message for this version; the value is left out for keys-only reads and tombstones.</summary>
    public Etcd.Api.Mvccpb.KeyValue ToKeyValue(bool keysOnly = false) => ToKeyValue(Key, Entry, keysOnly);

    /// <summary>The etcd message for version <paramref name="entry"/> of <paramref name="key"/>.</summary>
    public static Etcd.Api.Mvccpb.KeyValue ToKeyValue(ByteString key, in RevisionEntry entry, bool keysOnly = false) => new()
    {
        Key = key,
        CreateRevision = entry.CreateRevision,
        ModRevision = entry.Main,
        Version = entry.Version,
        Lease = entry.Lease,
        Value = keysOnly || entry.Value is null ? ByteString.Empty : entry.Value,
    };
}

/// <summary>One change in the history: the version written and, when known, the version it replaced.</summary>
internal readonly record struct Change(ByteString Key, RevisionEntry Entry, RevisionEntry? Previous);
