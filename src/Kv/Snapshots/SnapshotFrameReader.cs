using System.Buffers.Binary;
using System.IO.Hashing;

namespace RaftKv.Kv.Snapshots;

/// <summary>
/// Reads the record stream of a snapshot back out of its frames, verifying each frame's CRC and sequence before
/// handing out its bytes, and the end frame's totals at <see cref="Finish"/>.
/// </summary>
internal sealed class SnapshotFrameReader
{
    private readonly Stream source;
    private readonly byte[] frame = new byte[SnapshotFrames.HeaderBytes + SnapshotFrames.MaxPayloadBytes + SnapshotFrames.CrcBytes];
    private readonly Crc32 frameCrc = new();
    private readonly XxHash64 wholeHash = new();
    private int payloadLength;
    private int position;
    private uint expectedSequence;
    private long totalPayloadBytes;

    public SnapshotFrameReader(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.CanRead)
        {
            throw new ArgumentException("the snapshot source is not readable", nameof(source));
        }

        this.source = source;
    }

    public void ReadExactly(Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            if (position == payloadLength)
            {
                if (ReadFrame() != SnapshotFrames.DataKind)
                {
                    throw new KvSnapshotCorruptException("the snapshot ends in the middle of a record");
                }

                continue;
            }

            var chunk = Math.Min(payloadLength - position, destination.Length);
            frame.AsSpan(SnapshotFrames.HeaderBytes + position, chunk).CopyTo(destination);
            position += chunk;
            destination = destination[chunk..];
        }
    }

    public byte ReadByte()
    {
        Span<byte> bytes = stackalloc byte[1];
        ReadExactly(bytes);
        return bytes[0];
    }

    public int ReadInt32()
    {
        Span<byte> bytes = stackalloc byte[4];
        ReadExactly(bytes);
        return BinaryPrimitives.ReadInt32LittleEndian(bytes);
    }

    public long ReadInt64()
    {
        Span<byte> bytes = stackalloc byte[8];
        ReadExactly(bytes);
        return BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    /// <summary>A length-prefixed byte string of at most <paramref name="maxBytes"/>.</summary>
    public byte[] ReadBlob(int maxBytes, string what)
    {
        var length = ReadInt32();
        if (length < 0 || length > maxBytes)
        {
            throw new KvSnapshotCorruptException($"{what} length {length} is outside [0, {maxBytes}]");
        }

        var bytes = new byte[length];
        ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Checks that the records ended exactly at the end frame and that its totals match.</summary>
    public void Finish()
    {
        if (position != payloadLength)
        {
            throw new KvSnapshotCorruptException("the snapshot has bytes after its last record");
        }

        byte kind;
        while ((kind = ReadFrame()) == SnapshotFrames.DataKind)
        {
            if (payloadLength != 0)
            {
                throw new KvSnapshotCorruptException("the snapshot has bytes after its last record");
            }
        }

        var end = frame.AsSpan(SnapshotFrames.HeaderBytes, SnapshotFrames.EndPayloadBytes);
        var writtenBytes = BinaryPrimitives.ReadInt64LittleEndian(end);
        var writtenHash = BinaryPrimitives.ReadUInt64LittleEndian(end[8..]);
        if (writtenBytes != totalPayloadBytes || writtenHash != wholeHash.GetCurrentHashAsUInt64())
        {
            throw new KvSnapshotCorruptException(
                $"snapshot totals do not match: {totalPayloadBytes} bytes read, {writtenBytes} written");
        }
    }

    private byte ReadFrame()
    {
        var header = frame.AsSpan(0, SnapshotFrames.HeaderBytes);
        Fill(header);
        var kind = header[0];
        var sequence = BinaryPrimitives.ReadUInt32LittleEndian(header[1..]);
        var length = BinaryPrimitives.ReadInt32LittleEndian(header[5..]);
        if (kind is not (SnapshotFrames.DataKind or SnapshotFrames.EndKind))
        {
            throw new KvSnapshotCorruptException($"frame {expectedSequence} has unknown kind {kind}");
        }

        if (sequence != expectedSequence)
        {
            throw new KvSnapshotCorruptException($"frame {sequence} found where frame {expectedSequence} belongs");
        }

        var maxLength = kind == SnapshotFrames.EndKind ? SnapshotFrames.EndPayloadBytes : SnapshotFrames.MaxPayloadBytes;
        if (length < 0 || length > maxLength || (kind == SnapshotFrames.EndKind && length != SnapshotFrames.EndPayloadBytes))
        {
            throw new KvSnapshotCorruptException($"frame {sequence} has an impossible length {length}");
        }

        Fill(frame.AsSpan(SnapshotFrames.HeaderBytes, length + SnapshotFrames.CrcBytes));
        var covered = frame.AsSpan(0, SnapshotFrames.HeaderBytes + length);
        frameCrc.Reset();
        frameCrc.Append(covered);
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(covered.Length));
        if (stored != frameCrc.GetCurrentHashAsUInt32())
        {
            throw new KvSnapshotCorruptException($"frame {sequence} fails its checksum");
        }

        expectedSequence++;
        payloadLength = kind == SnapshotFrames.DataKind ? length : 0;
        position = 0;
        if (kind == SnapshotFrames.DataKind)
        {
            wholeHash.Append(covered[SnapshotFrames.HeaderBytes..]);
            totalPayloadBytes += length;
        }

        return kind;
    }

    private void Fill(Span<byte> destination)
    {
        try
        {
            source.ReadExactly(destination);
        }
        catch (EndOfStreamException e)
        {
            throw new KvSnapshotCorruptException("the snapshot is truncated", e);
        }
    }
}
