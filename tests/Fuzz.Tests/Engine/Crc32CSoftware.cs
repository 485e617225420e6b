using System.Numerics;

namespace RaftKv.Fuzz.Tests.Engine;

/// <summary>
/// CRC-32C as the storage and the transport compute it (initial ~0, final complement), so that the generators can
/// build valid frames and chunks. The products' own class is internal to two assemblies, hence this copy.
/// </summary>
public static class Crc32CSoftware
{
    /// <summary>CRC-32C of <paramref name="data"/>, continued from <paramref name="crc"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        foreach (var b in data) c = BitOperations.Crc32C(c, b);
        return ~c;
    }

    /// <summary>CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);
}
