using System.Buffers.Binary;
using RaftKv.Kv.Backend.Mvcc;

namespace RaftKv.Kv.Engine;

/// <summary>
/// Where the disk engine keeps leases in the backend's user space, apart from every MVCC record by their first byte
/// (<see cref="MvccSpace.Leases"/>, <see cref="MvccSpace.LeaseKeys"/>): <c>'l' id</c> to the lease record,
/// <c>'a' id key</c> to nothing for each attached key, and the lease count in <c>'m' "leases"</c>. The id is stored
/// big-endian with its sign bit flipped, so the byte order is the signed order the in-memory table lists in.
/// Lease record: format byte 2, the granted TTL in seconds, then the checkpointed remaining TTL in seconds (0: none),
/// each 8 bytes little-endian. Format 1 (written before lease checkpoints) is the format byte and the TTL alone, and
/// reads as a lease with no checkpoint; a store keeps such records until the lease is checkpointed or revoked.
/// </summary>
internal static class DiskLeaseKeys
{
    private const byte RecordFormat = 2;
    private const byte RecordFormatBeforeCheckpoints = 1;
    private const int IdBytes = sizeof(long);
    private const int RecordBytes = 1 + (2 * sizeof(long));
    private const int RecordBytesBeforeCheckpoints = 1 + sizeof(long);

    /// <summary>The lease count's key; absent means none.</summary>
    public static readonly byte[] CountKey = [MvccSpace.Meta, (byte)'l', (byte)'e', (byte)'a', (byte)'s', (byte)'e', (byte)'s'];

    public static readonly byte[] RecordSpaceStart = [MvccSpace.Leases];
    public static readonly byte[] RecordSpaceEnd = [MvccSpace.Leases + 1];

    public static byte[] Record(long id) => WithId(MvccSpace.Leases, id, 0);

    public static long RecordId(ReadOnlySpan<byte> key) => ReadId(key[1..]);

    public static byte[] Attachment(long id, ReadOnlySpan<byte> key)
    {
        var stored = WithId(MvccSpace.LeaseKeys, id, key.Length);
        key.CopyTo(stored.AsSpan(1 + IdBytes));
        return stored;
    }

    /// <summary>The user key of an attachment record's key.</summary>
    public static ReadOnlySpan<byte> AttachedKey(ReadOnlySpan<byte> key) => key[(1 + IdBytes)..];

    public static byte[] AttachmentsStart(long id) => WithId(MvccSpace.LeaseKeys, id, 0);

    /// <summary>The exclusive end of lease <paramref name="id"/>'s attachments: the next id's start, or the next space.</summary>
    public static byte[] AttachmentsEnd(long id) => id == long.MaxValue ? [MvccSpace.LeaseKeys + 1] : AttachmentsStart(id + 1);

    public static byte[] EncodeRecord(long ttlSeconds, long remainingTtlSeconds)
    {
        var record = new byte[RecordBytes];
        record[0] = RecordFormat;
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), ttlSeconds);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1 + sizeof(long)), remainingTtlSeconds);
        return record;
    }

    /// <summary>A record as the version before checkpoints wrote it (format 1): for tests of reading old stores.</summary>
    internal static byte[] EncodeRecordBeforeCheckpoints(long ttlSeconds)
    {
        var record = new byte[RecordBytesBeforeCheckpoints];
        record[0] = RecordFormatBeforeCheckpoints;
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), ttlSeconds);
        return record;
    }

    /// <summary>The granted TTL and checkpointed remaining TTL of a record of format 2, or of format 1 (no checkpoint).</summary>
    /// <exception cref="FormatException">The record is not one this version reads, or holds an impossible remaining TTL.</exception>
    public static (long TtlSeconds, long RemainingTtlSeconds) DecodeRecord(ReadOnlySpan<byte> record)
    {
        if (record.Length == RecordBytesBeforeCheckpoints && record[0] == RecordFormatBeforeCheckpoints)
        {
            return (BinaryPrimitives.ReadInt64LittleEndian(record[1..]), 0);
        }

        if (record.Length != RecordBytes || record[0] != RecordFormat)
        {
            throw new FormatException($"a lease record of {record.Length} bytes with format {(record.Length > 0 ? record[0] : -1)} is not one this version wrote");
        }

        var ttl = BinaryPrimitives.ReadInt64LittleEndian(record[1..]);
        var remaining = BinaryPrimitives.ReadInt64LittleEndian(record[(1 + sizeof(long))..]);
        if (remaining < 0 || (remaining != 0 && remaining >= ttl))
        {
            throw new FormatException($"a lease record holds remaining TTL {remaining} s for TTL {ttl} s");
        }

        return (ttl, remaining);
    }

    public static byte[] EncodeCount(long count)
    {
        var value = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(value, count);
        return value;
    }

    /// <exception cref="FormatException">The count is not 8 bytes or is negative.</exception>
    public static long DecodeCount(ReadOnlySpan<byte> value)
    {
        var count = value.Length == sizeof(long) ? BinaryPrimitives.ReadInt64LittleEndian(value) : -1;
        return count >= 0 ? count : throw new FormatException($"the lease count record ({value.Length} bytes) is damaged");
    }

    private static byte[] WithId(byte space, long id, int extraBytes)
    {
        var stored = new byte[1 + IdBytes + extraBytes];
        stored[0] = space;
        BinaryPrimitives.WriteUInt64BigEndian(stored.AsSpan(1), (ulong)id ^ 0x8000_0000_0000_0000UL);
        return stored;
    }

    private static long ReadId(ReadOnlySpan<byte> bytes) => (long)(BinaryPrimitives.ReadUInt64BigEndian(bytes) ^ 0x8000_0000_0000_0000UL);
}
