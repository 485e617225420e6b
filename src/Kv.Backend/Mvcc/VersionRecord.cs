using System.Buffers.Binary;

namespace RaftKv.Kv.Backend.Mvcc;

/// <summary>One version of one key as stored: a put (with etcd's create revision, version, lease and value) or a tombstone.</summary>
/// <param name="Main">Main revision of the write.</param>
/// <param name="Sub">Sub-revision within the write transaction.</param>
/// <param name="IsTombstone">A delete: the key does not exist from this revision on.</param>
/// <param name="CreateRevision">Revision of the key's first put since it last did not exist (0 for a tombstone).</param>
/// <param name="Version">Puts since the key was created, this one included (0 for a tombstone).</param>
/// <param name="Lease">Lease id attached, 0 for none.</param>
/// <param name="Value">The value (empty for a tombstone).</param>
public readonly record struct StoredVersion(long Main, int Sub, bool IsTombstone, long CreateRevision, long Version, long Lease, ReadOnlyMemory<byte> Value)
{
    /// <summary>A tombstone at (<paramref name="main"/>, <paramref name="sub"/>).</summary>
    public static StoredVersion Tombstone(long main, int sub) => new(main, sub, true, 0, 0, 0, ReadOnlyMemory<byte>.Empty);
}

/// <summary>
/// The stored value of a version: a flags byte (bit 0: tombstone); for a put, then create revision, version and lease
/// as 8 bytes each, little-endian, then the value bytes. The revision lives in the key (<see cref="VersionKey"/>).
/// </summary>
public static class VersionRecord
{
    private const byte TombstoneFlag = 1;
    private const int PutHeaderBytes = 1 + (3 * sizeof(long));

    /// <summary>Encodes <paramref name="version"/>'s value part.</summary>
    public static byte[] Encode(in StoredVersion version)
    {
        if (version.IsTombstone)
        {
            return [TombstoneFlag];
        }

        var record = new byte[PutHeaderBytes + version.Value.Length];
        record[0] = 0;
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), version.CreateRevision);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1 + sizeof(long)), version.Version);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1 + (2 * sizeof(long))), version.Lease);
        version.Value.Span.CopyTo(record.AsSpan(PutHeaderBytes));
        return record;
    }

    /// <summary>Reads a version back from its stored value and the revision of its key.</summary>
    /// <exception cref="FormatException">When the bytes are not a version record (a corrupt backend: callers must stop).</exception>
    public static StoredVersion Decode(long main, int sub, ReadOnlySpan<byte> record)
    {
        if (record.IsEmpty || (record[0] & ~TombstoneFlag) != 0)
        {
            throw new FormatException($"version record at ({main}, {sub}) has bad flags");
        }

        if ((record[0] & TombstoneFlag) != 0)
        {
            return record.Length == 1 ? StoredVersion.Tombstone(main, sub) : throw new FormatException($"tombstone at ({main}, {sub}) carries {record.Length - 1} extra bytes");
        }

        if (record.Length < PutHeaderBytes)
        {
            throw new FormatException($"version record at ({main}, {sub}) is {record.Length} bytes, shorter than its header");
        }

        return new StoredVersion(main, sub, false,
            BinaryPrimitives.ReadInt64LittleEndian(record[1..]),
            BinaryPrimitives.ReadInt64LittleEndian(record[(1 + sizeof(long))..]),
            BinaryPrimitives.ReadInt64LittleEndian(record[(1 + (2 * sizeof(long)))..]),
            record[PutHeaderBytes..].ToArray());
    }
}
