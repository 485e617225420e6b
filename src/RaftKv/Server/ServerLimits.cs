using RaftKv.Raft.Storage;

namespace RaftKv.Server;

/// <summary>
/// The size limits of a member, derived from one another so that none can be crossed by what another lets in: a
/// request the API accepts always fits in one log record, and a store the quota allows always fits in one snapshot.
/// The log and snapshot limits are the same constants on every member, so a member can never be sent an entry or a
/// snapshot it cannot store, whatever the flags the others run with.
/// </summary>
public static class ServerLimits
{
    /// <summary>Bytes a command adds around the client's request (request id, oneof tag and length).</summary>
    public const int CommandFramingBytes = 64;

    /// <summary>The log's settings on every member: records of 16 MiB, snapshots as large as one buffer can be.</summary>
    public static StorageOptions Storage { get; } = new() { MaxSnapshotSizeBytes = Array.MaxLength };

    /// <summary>Largest --max-request-bytes: a request of this size, framed as a command, is one log record.</summary>
    public static long MaxRequestBytes => Storage.MaxEntryDataBytes - CommandFramingBytes;

    /// <summary>
    /// Room kept between the quota and the snapshot limit: the quota is checked before proposing, so writes admitted
    /// at the same time can pass it by up to what the leader holds uncommitted and what waits to be applied (two
    /// times the core's 64 MiB uncommitted limit).
    /// </summary>
    public const long QuotaHeadroomBytes = 128L * 1024 * 1024;

    /// <summary>
    /// Largest --quota-backend-bytes with the in-memory store: a snapshot is one buffer of at most
    /// <see cref="Array.MaxLength"/> bytes, and a snapshot is never larger than the store's size estimate (each
    /// version is counted with 128 bytes of overhead; it takes at most 49 in a snapshot).
    /// </summary>
    public static long MaxMemoryQuotaBytes => Storage.MaxSnapshotSizeBytes - QuotaHeadroomBytes;

    /// <summary>
    /// Largest --quota-backend-bytes with the store on disk, 1 TiB: nothing in memory grows with the data, and
    /// snapshots stream; the figure is a sanity bound (etcd suggests at most 8 GiB), not a buffer's.
    /// </summary>
    public const long MaxDiskQuotaBytes = 1L << 40;

    /// <summary>The largest quota for <paramref name="backend"/>.</summary>
    public static long MaxQuotaBytes(StoreBackend backend) => backend == StoreBackend.Disk ? MaxDiskQuotaBytes : MaxMemoryQuotaBytes;

    /// <summary>
    /// The default quota: etcd's 2 GiB on disk; 1.75 GiB in memory, where 2 GiB does not fit in one snapshot buffer
    /// with headroom.
    /// </summary>
    public static long DefaultQuotaBytes(StoreBackend backend) => backend == StoreBackend.Disk ? 2L << 30 : 1792L * 1024 * 1024;

    /// <summary>
    /// The Raft loop thread's nice value (RaftHostOptions.LoopThreadNice): -10, so a waking loop runs before the
    /// engine's and the requests' threads. Needs CAP_SYS_NICE; without it a line at start says so and nothing else changes.
    /// </summary>
    public const int RaftLoopNice = -10;

    /// <summary>
    /// The default --snapshot-count: etcd 3.6's 10,000 on disk, where a snapshot costs a flush and a few bytes (and
    /// fewer entries kept means a smaller log in memory and a shorter replay); etcd 3.4's 100,000 in memory, where a
    /// snapshot writes the whole store.
    /// </summary>
    public static ulong DefaultSnapshotCount(StoreBackend backend) => backend == StoreBackend.Disk ? 10_000UL : 100_000UL;

    /// <summary>Checks the limits given by flags against these; the first problem, naming the flags, or null.</summary>
    public static string? Validate(long maxRequestBytes, long quotaBytes, StoreBackend backend)
    {
        if (maxRequestBytes > MaxRequestBytes)
            return $"--max-request-bytes ({maxRequestBytes}) is above {MaxRequestBytes}: a request must fit in one Raft log record " +
                $"({Storage.MaxRecordSizeBytes} bytes with the entry and command headers)";
        if (backend == StoreBackend.Memory && quotaBytes > MaxMemoryQuotaBytes)
            return $"--quota-backend-bytes ({quotaBytes}) is above {MaxMemoryQuotaBytes} for --backend memory: a snapshot of the whole store must fit " +
                $"in one buffer ({Storage.MaxSnapshotSizeBytes} bytes) with {QuotaHeadroomBytes} bytes of room for writes in flight";
        if (quotaBytes > MaxDiskQuotaBytes)
            return $"--quota-backend-bytes ({quotaBytes}) is above {MaxDiskQuotaBytes} (1 TiB)";
        return null;
    }
}
