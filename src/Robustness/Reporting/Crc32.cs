namespace RaftKv.Robustness.Reporting;

/// <summary>
/// The CRC-32 PNG puts after every chunk (PNG specification, section 5.5 and annex D: ISO 3309, polynomial
/// 0xEDB88320 reflected, initial value and final XOR 0xFFFFFFFF), table-driven.
/// </summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>
    /// The CRC of the bytes <paramref name="crc"/> covers followed by <paramref name="data"/>; start with 0. As zlib's
    /// <c>crc32</c>: Append(Append(0, a), b) equals Append(0, a followed by b).
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        foreach (var b in data) c = Table[(c ^ b) & 0xff] ^ (c >> 8);
        return ~c;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
