using System.Buffers.Binary;
using System.Numerics;

namespace RaftKv.Raft.Storage.Files;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and most logs. Uses the CPU's
/// CRC32 instruction through <see cref="BitOperations.Crc32C(uint, ulong)"/> (SSE4.2 / ARMv8), with the runtime's
/// software fallback elsewhere. System.IO.Hashing 10.0 has no CRC-32C, only the IEEE polynomial.
/// </summary>
internal static class Crc32C
{
    /// <summary>The CRC of no bytes.</summary>
    public const uint Empty = 0;

    /// <summary>CRC-32C of <paramref name="data"/> (standard: initial ~0, final complement).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(Empty, data);

    /// <summary>
    /// Continues <paramref name="crc"/> (a finished CRC-32C) over <paramref name="data"/>:
    /// <c>Append(Compute(a), b) == Compute(a + b)</c>. Also used to chain records by seeding with the previous one.
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        while (data.Length >= 8)
        {
            c = BitOperations.Crc32C(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        if (data.Length >= 4)
        {
            c = BitOperations.Crc32C(c, BinaryPrimitives.ReadUInt32LittleEndian(data));
            data = data[4..];
        }
        foreach (var b in data) c = BitOperations.Crc32C(c, b);
        return ~c;
    }
}
