using System.Buffers.Binary;

namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>One record frame in a segment, found by the test's own reading of the documented format.</summary>
public sealed record Frame(long Offset, int Length, byte Type)
{
    public long End => Offset + Length;
}

/// <summary>
/// Walks a segment's frames using only the documented layout (32-byte header; frames of a 16-byte header whose first
/// u32 is the payload length and fifth byte the type; a zero header ends the records). Independent of the product's
/// scanner, so tests do not check the code against itself.
/// </summary>
public static class FrameWalker
{
    public const int SegmentHeaderBytes = 32;
    public const int FrameHeaderBytes = 16;
    public const byte EntryType = 1;
    public const byte HardStateType = 2;
    public const byte MarkerType = 3;

    public static List<Frame> Frames(byte[] segment)
    {
        var frames = new List<Frame>();
        long pos = SegmentHeaderBytes;
        while (pos + FrameHeaderBytes <= segment.Length)
        {
            var header = segment.AsSpan((int)pos, FrameHeaderBytes);
            if (!header.ContainsAnyExcept((byte)0)) break;
            var length = FrameHeaderBytes + (int)BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (pos + length > segment.Length) break;
            frames.Add(new Frame(pos, length, header[4]));
            pos += length;
        }
        return frames;
    }

    public static List<Frame> Frames(string path) => Frames(File.ReadAllBytes(path));
}
