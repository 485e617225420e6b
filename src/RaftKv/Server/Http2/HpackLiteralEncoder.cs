using System.Buffers;

namespace RaftKv.Server.Http2;

/// <summary>
/// Encodes header fields without touching the receiver's dynamic table (RFC 7541): exact static-table matches as indexed
/// fields (6.1), everything else as literals without indexing (6.2.2) or never indexed (6.2.3), strings raw (no Huffman).
/// </summary>
/// <remarks>Because nothing is added to the receiver's table and no dynamic index is used, the output decodes to the same
/// fields whatever the receiver's table holds.</remarks>
internal static class HpackLiteralEncoder
{
    public static void WriteField(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed)
    {
        if (!neverIndexed && HpackStaticTable.FindExact(name, value) is var exact and > 0)
        {
            WriteInteger(output, 0x80, 7, exact);
            return;
        }
        var nameIndex = HpackStaticTable.FindName(name);
        WriteInteger(output, neverIndexed ? (byte)0x10 : (byte)0x00, 4, nameIndex);
        if (nameIndex == 0) WriteString(output, name);
        WriteString(output, value);
    }

    private static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        WriteInteger(output, 0x00, 7, value.Length); // H = 0: raw octets
        output.Write(value);
    }

    /// <summary>5.1: <paramref name="value"/> with an N-bit prefix, the bits above the prefix taken from <paramref name="flags"/>.</summary>
    internal static void WriteInteger(IBufferWriter<byte> output, byte flags, int prefixBits, int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        var span = output.GetSpan(6);
        var mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            span[0] = (byte)(flags | value);
            output.Advance(1);
            return;
        }
        span[0] = (byte)(flags | mask);
        var written = 1;
        value -= mask;
        while (value >= 0x80)
        {
            span[written++] = (byte)((value & 0x7F) | 0x80);
            value >>= 7;
        }
        span[written++] = (byte)value;
        output.Advance(written);
    }
}
