using System.Buffers.Binary;
using System.IO.Hashing;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Hashing;

/// <summary>
/// CRC-32 hashes of the state for comparing members. Every field goes in with a fixed width or a length prefix, in
/// key order then revision order, so equal states hash equally on every member and different ones almost never do.
/// </summary>
internal static class StateHasher
{
    /// <summary>The versions visible to reads at or below <paramref name="revision"/> (those the compaction kept included).</summary>
    public static uint HashKV(IMvccView state, long revision)
    {
        var crc = new Crc32();
        AppendKeys(crc, state, revision);
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>
    /// Everything: applied index, revisions, alarms, the cluster record and every retained version. An empty record adds
    /// nothing, so a store without one hashes as it did before records existed.
    /// </summary>
    public static uint HashAll(IMvccView state)
    {
        var crc = new Crc32();
        Span<byte> scalars = stackalloc byte[24];
        BinaryPrimitives.WriteUInt64LittleEndian(scalars, state.AppliedIndex);
        BinaryPrimitives.WriteInt64LittleEndian(scalars[8..], state.CurrentRevision);
        BinaryPrimitives.WriteInt64LittleEndian(scalars[16..], state.CompactRevision);
        crc.Append(scalars);
        Span<byte> alarm = stackalloc byte[12];
        foreach (var (memberId, type) in state.Alarms.All)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(alarm, memberId);
            BinaryPrimitives.WriteInt32LittleEndian(alarm[8..], (int)type);
            crc.Append(alarm);
        }

        if (!state.ClusterRecord.IsEmpty)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, state.ClusterRecord.Length);
            crc.Append(length);
            crc.Append(state.ClusterRecord.Span);
        }

        if (!state.AuthRecord.IsEmpty)
        {
            Span<byte> length = stackalloc byte[5];
            length[0] = (byte)'A'; // so an auth record cannot hash as a longer cluster record
            BinaryPrimitives.WriteInt32LittleEndian(length[1..], state.AuthRecord.Length);
            crc.Append(length);
            crc.Append(state.AuthRecord.Span);
        }

        AppendKeys(crc, state, long.MaxValue);
        return crc.GetCurrentHashAsUInt32();
    }

    private static void AppendKeys(Crc32 crc, IMvccView state, long revision)
    {
        Span<byte> fields = stackalloc byte[41];
        foreach (var (key, entry) in state.AllVersions(revision))
        {
            BinaryPrimitives.WriteInt32LittleEndian(fields, key.Length);
            crc.Append(fields[..4]);
            crc.Append(key.Span);
            BinaryPrimitives.WriteInt64LittleEndian(fields, entry.Main);
            BinaryPrimitives.WriteInt32LittleEndian(fields[8..], entry.Sub);
            fields[12] = entry.IsTombstone ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteInt64LittleEndian(fields[13..], entry.CreateRevision);
            BinaryPrimitives.WriteInt64LittleEndian(fields[21..], entry.Version);
            BinaryPrimitives.WriteInt64LittleEndian(fields[29..], entry.Lease);
            BinaryPrimitives.WriteInt32LittleEndian(fields[37..], entry.Value?.Length ?? -1);
            crc.Append(fields[..41]);
            if (entry.Value is not null)
            {
                crc.Append(entry.Value.Span);
            }
        }
    }
}
