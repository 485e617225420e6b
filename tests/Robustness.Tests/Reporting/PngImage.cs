using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using RaftKv.Robustness.Reporting;

namespace RaftKv.Robustness.Tests.Reporting;

/// <summary>
/// A PNG decoder written apart from the encoder, so the tests read the file as any viewer would (PNG specification,
/// third edition): it checks the signature, every chunk's CRC (bit by bit, not with the encoder's table), that IHDR
/// comes first and says 8-bit RGB, and IEND last; then inflates the IDAT data and undoes the five row filters.
/// </summary>
internal sealed class PngImage
{
    private const int BytesPerPixel = 3;
    private static readonly byte[] Signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

    private readonly byte[] _rgb;

    private PngImage(int width, int height, byte[] rgb, IReadOnlyList<string> chunkTypes)
    {
        Width = width;
        Height = height;
        _rgb = rgb;
        ChunkTypes = chunkTypes;
    }

    public int Width { get; }

    public int Height { get; }

    public IReadOnlyList<string> ChunkTypes { get; }

    public Rgb this[int x, int y]
    {
        get
        {
            Assert.InRange(x, 0, Width - 1);
            Assert.InRange(y, 0, Height - 1);
            var i = ((y * Width) + x) * BytesPerPixel;
            return new Rgb(_rgb[i], _rgb[i + 1], _rgb[i + 2]);
        }
    }

    /// <summary>Whether any pixel of column <paramref name="x"/> from row <paramref name="top"/> to <paramref name="bottom"/> (inclusive) has <paramref name="colour"/>.</summary>
    public bool ColumnHas(int x, int top, int bottom, Rgb colour) => Enumerable.Range(top, bottom - top + 1).Any(y => this[x, y] == colour);

    /// <summary>How many pixels of rows <paramref name="top"/> to <paramref name="bottom"/> (inclusive) have <paramref name="colour"/>.</summary>
    public int CountInRows(int top, int bottom, Rgb colour) =>
        Enumerable.Range(top, bottom - top + 1).Sum(y => Enumerable.Range(0, Width).Count(x => this[x, y] == colour));

    public static PngImage Decode(byte[] png)
    {
        Assert.True(png.AsSpan(0, 8).SequenceEqual(Signature), "the PNG signature");
        var types = new List<string>();
        var idat = new MemoryStream();
        int width = 0, height = 0;
        for (var pos = 8; pos < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            var type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length));
            Assert.Equal(NaiveCrc32(png.AsSpan(pos + 4, 4 + length)), crc);
            types.Add(type);
            if (type == "IHDR") (width, height) = ReadHeader(data);
            if (type == "IDAT") idat.Write(data);
            pos += 12 + length;
        }
        Assert.Equal("IHDR", types[0]);
        Assert.Equal("IEND", types[^1]);
        Assert.Contains("IDAT", types);
        return new PngImage(width, height, Unfilter(Inflate(idat.ToArray()), width, height), types);
    }

    private static (int Width, int Height) ReadHeader(ReadOnlySpan<byte> data)
    {
        Assert.Equal(13, data.Length);
        Assert.Equal(8, data[8]); // bit depth
        Assert.Equal(2, data[9]); // colour type: RGB
        Assert.Equal(0, data[12]); // not interlaced
        return (BinaryPrimitives.ReadInt32BigEndian(data), BinaryPrimitives.ReadInt32BigEndian(data[4..]));
    }

    private static byte[] Inflate(byte[] zlib)
    {
        using var inflated = new MemoryStream();
        using (var stream = new ZLibStream(new MemoryStream(zlib), CompressionMode.Decompress)) stream.CopyTo(inflated);
        return inflated.ToArray();
    }

    private static byte[] Unfilter(byte[] filtered, int width, int height)
    {
        var stride = width * BytesPerPixel;
        Assert.Equal(height * (stride + 1), filtered.Length);
        var rgb = new byte[height * stride];
        for (var y = 0; y < height; y++)
        {
            var filter = filtered[y * (stride + 1)];
            for (var i = 0; i < stride; i++)
            {
                var raw = filtered[(y * (stride + 1)) + 1 + i];
                int a = i >= BytesPerPixel ? rgb[(y * stride) + i - BytesPerPixel] : 0;
                int b = y > 0 ? rgb[((y - 1) * stride) + i] : 0;
                int c = i >= BytesPerPixel && y > 0 ? rgb[((y - 1) * stride) + i - BytesPerPixel] : 0;
                var predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"row {y} has filter type {filter}"),
                };
                rgb[(y * stride) + i] = (byte)(raw + predictor);
            }
        }
        return rgb;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>CRC-32 one bit at a time (PNG specification, annex D), to check the encoder's table-driven one.</summary>
    public static uint NaiveCrc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
        }
        return ~crc;
    }
}
