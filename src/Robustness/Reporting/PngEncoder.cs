using System.Buffers.Binary;
using System.IO.Compression;

namespace RaftKv.Robustness.Reporting;

/// <summary>
/// Writes a <see cref="RasterCanvas"/> as a PNG file (PNG specification, third edition): the signature, IHDR (8-bit
/// RGB, not interlaced), one IDAT holding every row with filter type 0 (none) in a zlib stream, and IEND; every chunk
/// ends with its <see cref="Crc32"/> over its type and data.
/// </summary>
internal static class PngEncoder
{
    private const byte BitDepth = 8;
    private const byte ColourTypeRgb = 2;
    private const byte FilterNone = 0;

    /// <summary>The eight bytes every PNG file starts with (section 5.2).</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a];

    /// <summary>The PNG file's bytes.</summary>
    public static byte[] Encode(RasterCanvas canvas)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, canvas.Width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], canvas.Height);
        header[8] = BitDepth;
        header[9] = ColourTypeRgb;
        header[10] = 0; // compression method: deflate, the only one
        header[11] = 0; // filter method: the five adaptive filters, the only one
        header[12] = 0; // no interlace
        WriteChunk(png, "IHDR"u8, header);
        WriteChunk(png, "IDAT"u8, Compress(canvas));
        WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    private static byte[] Compress(RasterCanvas canvas)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (var y = 0; y < canvas.Height; y++)
            {
                zlib.WriteByte(FilterNone);
                zlib.Write(canvas.Row(y));
            }
        }
        return compressed.ToArray();
    }

    private static void WriteChunk(Stream png, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        png.Write(type);
        png.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Append(Crc32.Append(0, type), data));
        png.Write(word);
    }
}
