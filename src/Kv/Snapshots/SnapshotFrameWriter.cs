using System.Buffers.Binary;
using System.IO.Hashing;

namespace RaftKv.Kv.Snapshots;

/// <summary>Writes the record stream of a snapshot as frames (see <see cref="SnapshotFrames"/>), 64 KiB at a time.</summary>
internal sealed class SnapshotFrameWriter
{
    private readonly Stream destination;
    private readonly byte[] frame = new byte[SnapshotFrames.HeaderBytes + SnapshotFrames.WriterPayloadBytes + SnapshotFrames.CrcBytes];
    private readonly Crc32 frameCrc = new();
    private readonly XxHash64 wholeHash = new();
    private int payloadLength;
    private uint sequence;
    private long totalPayloadBytes;
    private bool finished;

    public SnapshotFrameWriter(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanWrite)
        {
            throw new ArgumentException("the snapshot destination is not writable", nameof(destination));
        }

        this.destination = destination;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        ObjectDisposedException.ThrowIf(finished, this);
        while (!bytes.IsEmpty)
        {
            var room = SnapshotFrames.WriterPayloadBytes - payloadLength;
            var chunk = Math.Min(room, bytes.Length);
            bytes[..chunk].CopyTo(frame.AsSpan(SnapshotFrames.HeaderBytes + payloadLength));
            payloadLength += chunk;
            bytes = bytes[chunk..];
            if (payloadLength == SnapshotFrames.WriterPayloadBytes)
            {
                EmitFrame(SnapshotFrames.DataKind);
            }
        }
    }

    public void WriteByte(byte value) => Write([value]);

    public void WriteInt32(int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        Write(bytes);
    }

    public void WriteInt64(long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        Write(bytes);
    }

    /// <summary>A length-prefixed byte string.</summary>
    public void WriteBlob(ReadOnlySpan<byte> bytes)
    {
        WriteInt32(bytes.Length);
        Write(bytes);
    }

    /// <summary>Emits the last data frame and the end frame, then flushes the destination.</summary>
    public void Finish()
    {
        ObjectDisposedException.ThrowIf(finished, this);
        if (payloadLength > 0)
        {
            EmitFrame(SnapshotFrames.DataKind);
        }

        var end = frame.AsSpan(SnapshotFrames.HeaderBytes, SnapshotFrames.EndPayloadBytes);
        BinaryPrimitives.WriteInt64LittleEndian(end, totalPayloadBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(end[8..], wholeHash.GetCurrentHashAsUInt64());
        payloadLength = SnapshotFrames.EndPayloadBytes;
        EmitFrame(SnapshotFrames.EndKind);
        destination.Flush();
        finished = true;
    }

    private void EmitFrame(byte kind)
    {
        var header = frame.AsSpan(0, SnapshotFrames.HeaderBytes);
        header[0] = kind;
        BinaryPrimitives.WriteUInt32LittleEndian(header[1..], sequence++);
        BinaryPrimitives.WriteInt32LittleEndian(header[5..], payloadLength);
        var payload = frame.AsSpan(SnapshotFrames.HeaderBytes, payloadLength);
        if (kind == SnapshotFrames.DataKind)
        {
            wholeHash.Append(payload);
            totalPayloadBytes += payloadLength;
        }

        var covered = frame.AsSpan(0, SnapshotFrames.HeaderBytes + payloadLength);
        frameCrc.Reset();
        frameCrc.Append(covered);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(covered.Length), frameCrc.GetCurrentHashAsUInt32());
        destination.Write(frame, 0, covered.Length + SnapshotFrames.CrcBytes);
        payloadLength = 0;
    }
}
