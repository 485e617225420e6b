using System.Buffers;
using System.Buffers.Binary;

namespace RaftKv.Server.Http2;

/// <summary>HTTP/2 frame layout (RFC 9113 section 4.1) and the few types and flags the header rewriter needs.</summary>
internal static class Http2Frame
{
    public const int HeaderLength = 9;
    public const int DefaultMaxFrameSizeBytes = 16_384;

    /// <summary>The client connection preface, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (section 3.4).</summary>
    public const int ClientPrefaceLength = 24;

    public const byte TypeHeaders = 0x1;
    public const byte TypeContinuation = 0x9;

    public const byte FlagEndStream = 0x1;
    public const byte FlagEndHeaders = 0x4;
    public const byte FlagPadded = 0x8;
    public const byte FlagPriority = 0x20;

    /// <summary>Exclusive flag, stream dependency and weight (section 6.2, deprecated but still legal).</summary>
    public const int PriorityFieldsLength = 5;

    public readonly record struct Header(int Length, byte Type, byte Flags, int StreamId);

    public static Header ReadHeader(ReadOnlySpan<byte> nineBytes) => new(
        (nineBytes[0] << 16) | (nineBytes[1] << 8) | nineBytes[2],
        nineBytes[3],
        nineBytes[4],
        (int)(BinaryPrimitives.ReadUInt32BigEndian(nineBytes[5..]) & 0x7FFF_FFFF));

    public static void WriteHeader(IBufferWriter<byte> output, int length, byte type, byte flags, int streamId)
    {
        var span = output.GetSpan(HeaderLength);
        span[0] = (byte)(length >> 16);
        span[1] = (byte)(length >> 8);
        span[2] = (byte)length;
        span[3] = type;
        span[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], (uint)streamId);
        output.Advance(HeaderLength);
    }

    /// <summary>Writes a header block as one HEADERS frame and as many CONTINUATION frames as <paramref name="maxFrameSizeBytes"/> needs.</summary>
    /// <param name="priority">The 5 priority bytes to keep from the original HEADERS frame, or empty.</param>
    public static void WriteHeaderBlock(IBufferWriter<byte> output, int streamId, bool endStream, ReadOnlySpan<byte> priority,
        ReadOnlySpan<byte> block, int maxFrameSizeBytes)
    {
        var firstRoom = maxFrameSizeBytes - priority.Length;
        var first = block[..Math.Min(block.Length, firstRoom)];
        var flags = (byte)((endStream ? FlagEndStream : 0) | (priority.IsEmpty ? 0 : FlagPriority) | (first.Length == block.Length ? FlagEndHeaders : 0));
        WriteHeader(output, priority.Length + first.Length, TypeHeaders, flags, streamId);
        output.Write(priority);
        output.Write(first);
        var rest = block[first.Length..];
        while (!rest.IsEmpty)
        {
            var chunk = rest[..Math.Min(rest.Length, maxFrameSizeBytes)];
            rest = rest[chunk.Length..];
            WriteHeader(output, chunk.Length, TypeContinuation, rest.IsEmpty ? FlagEndHeaders : (byte)0, streamId);
            output.Write(chunk);
        }
    }
}
