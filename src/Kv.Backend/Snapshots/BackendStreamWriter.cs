using System.Buffers;

namespace RaftKv.Kv.Backend.Snapshots;

/// <summary>
/// Encodes records into a backend stream: the header at construction, frames of about
/// <see cref="BackendStream.FrameTargetBytes"/> as records are added, the trailer at <see cref="Finish"/>.
/// Memory: one pooled frame buffer (bigger only for a record that alone exceeds the target). Not thread-safe.
/// </summary>
/// <remarks>It does not check key order: the reader does, and the one producer is a RocksDB iterator.</remarks>
internal sealed class BackendStreamWriter : IDisposable
{
    private readonly Stream destination;
    private byte[] buffer; // Block header at [0, BlockHeaderBytes), then the frame's payload.
    private int payloadBytes;
    private int frameRecords;
    private uint runningCrc; // Invariant: the CRC of the last block written (the header's before the first frame).
    private ulong records;
    private ulong frames;
    private ulong bytesWritten;
    private bool finished;

    public BackendStreamWriter(Stream destination, ulong appliedIndex)
    {
        this.destination = destination;
        buffer = ArrayPool<byte>.Shared.Rent(StreamFormat.BlockHeaderBytes + BackendStream.FrameTargetBytes);
        Span<byte> header = stackalloc byte[StreamFormat.HeaderBytes];
        runningCrc = StreamFormat.WriteHeader(header, appliedIndex);
        destination.Write(header);
        bytesWritten = StreamFormat.HeaderBytes;
    }

    /// <summary>Bytes written to the destination so far.</summary>
    public ulong BytesWritten => bytesWritten;

    /// <summary>Appends one record; writes the current frame first when the record would overflow it.</summary>
    /// <exception cref="InvalidOperationException">The record alone exceeds <see cref="BackendStream.FramePayloadBytesMax"/>.</exception>
    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, CancellationToken ct)
    {
        var recordBytes = (long)StreamFormat.RecordHeaderBytes + key.Length + value.Length;
        if (recordBytes > BackendStream.FramePayloadBytesMax)
        {
            throw new InvalidOperationException(
                $"A record of {recordBytes} bytes exceeds the stream's frame limit of {BackendStream.FramePayloadBytesMax} bytes.");
        }
        if (frameRecords > 0 && payloadBytes + recordBytes > BackendStream.FrameTargetBytes)
        {
            WriteFrame(ct);
        }
        EnsureRoom((int)recordBytes);
        var at = StreamFormat.BlockHeaderBytes + payloadBytes;
        StreamFormat.WriteRecordHeader(buffer.AsSpan(at), key.Length, value.Length);
        key.CopyTo(buffer.AsSpan(at + StreamFormat.RecordHeaderBytes));
        value.CopyTo(buffer.AsSpan(at + StreamFormat.RecordHeaderBytes + key.Length));
        payloadBytes += (int)recordBytes;
        frameRecords++;
        records++;
    }

    /// <summary>Writes the last frame and the trailer, then flushes the destination.</summary>
    public void Finish(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(finished, this);
        if (frameRecords > 0)
        {
            WriteFrame(ct);
        }
        Span<byte> trailer = stackalloc byte[StreamFormat.BlockHeaderBytes + StreamFormat.TrailerPayloadBytes];
        var payload = trailer[StreamFormat.BlockHeaderBytes..];
        StreamFormat.WriteTrailer(payload, records, frames, bytesWritten, runningCrc);
        StreamFormat.WriteBlockHeader(trailer, StreamFormat.TrailerType, 0, payload, runningCrc);
        destination.Write(trailer);
        bytesWritten += (ulong)trailer.Length;
        destination.Flush();
        finished = true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = [];
        }
        finished = true;
    }

    private void WriteFrame(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var block = buffer.AsSpan(0, StreamFormat.BlockHeaderBytes + payloadBytes);
        runningCrc = StreamFormat.WriteBlockHeader(block, StreamFormat.FrameType, frameRecords,
            block[StreamFormat.BlockHeaderBytes..], runningCrc);
        destination.Write(block);
        bytesWritten += (ulong)block.Length;
        frames++;
        payloadBytes = 0;
        frameRecords = 0;
        if (buffer.Length > StreamFormat.BlockHeaderBytes + 2 * BackendStream.FrameTargetBytes)
        {
            // A huge record grew the buffer: give it back rather than hold it for the rest of the stream.
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = ArrayPool<byte>.Shared.Rent(StreamFormat.BlockHeaderBytes + BackendStream.FrameTargetBytes);
        }
    }

    /// <summary>Grows the buffer for a record bigger than the target; only an empty frame can need it.</summary>
    private void EnsureRoom(int recordBytes)
    {
        var needed = StreamFormat.BlockHeaderBytes + payloadBytes + recordBytes;
        if (needed <= buffer.Length)
        {
            return;
        }
        var larger = ArrayPool<byte>.Shared.Rent(needed);
        buffer.AsSpan(0, StreamFormat.BlockHeaderBytes + payloadBytes).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = larger;
    }
}
