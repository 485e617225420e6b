namespace RaftKv.Kv.Backend.Mvcc;

/// <summary>
/// The first byte of every MVCC key in the backend's user space (docs/design/disk-state-machine.md): one byte per
/// kind of record, so a scan of one kind never meets another and the kinds sort apart.
/// </summary>
public static class MvccSpace
{
    /// <summary>Versions of keys: <see cref="VersionKey"/> to <see cref="VersionRecord"/>.</summary>
    public const byte Versions = (byte)'v';

    /// <summary>Changes in revision order: <see cref="ChangeKey"/> to the changed user key.</summary>
    public const byte Changes = (byte)'c';

    /// <summary>The newest version of each key: <see cref="LatestKey"/> to its revision.</summary>
    public const byte Latest = (byte)'k';

    /// <summary>
    /// The MVCC scalars (revisions, logical size, alarms), written with every applied batch; also the lease count and
    /// the server's opaque cluster record (written by the entry that sets it).
    /// </summary>
    public const byte Meta = (byte)'m';

    /// <summary>Granted leases: the lease id (8 bytes, order-preserving) to its TTL record.</summary>
    public const byte Leases = (byte)'l';

    /// <summary>Keys attached to leases: the lease id (8 bytes, order-preserving) then the user key, to nothing.</summary>
    public const byte LeaseKeys = (byte)'a';
}
