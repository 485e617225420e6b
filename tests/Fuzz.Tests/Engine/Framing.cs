using System.Buffers.Binary;

namespace RaftKv.Fuzz.Tests.Engine;

/// <summary>
/// The container several targets use for an input made of parts (chunks of a stream, files of a directory): each
/// part is a u32 little-endian length and its bytes. Decoding is lenient, as a fuzz input must be: a length past the
/// end takes what is left.
/// </summary>
public static class Framing
{
    /// <summary>At most this many parts are decoded (every loop bounded).</summary>
    public const int MaxParts = 512;

    /// <summary>The parts, framed.</summary>
    public static byte[] Encode(IEnumerable<byte[]> parts)
    {
        var output = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        foreach (var part in parts)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)part.Length);
            output.Write(length);
            output.Write(part);
        }
        return output.ToArray();
    }

    /// <summary>The parts of <paramref name="input"/>.</summary>
    public static List<byte[]> Decode(ReadOnlySpan<byte> input)
    {
        var parts = new List<byte[]>();
        while (input.Length >= 4 && parts.Count < MaxParts)
        {
            var length = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(input), (uint)(input.Length - 4));
            parts.Add(input.Slice(4, length).ToArray());
            input = input[(4 + length)..];
        }
        return parts;
    }
}
