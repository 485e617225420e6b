using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Kv.Backend.Snapshots;

/// <summary>
/// Decodes and verifies a backend stream: <see cref="ReadHeader"/>, then <see cref="ReadFrame"/> until it returns
/// false (the trailer was read and checked), taking each frame's records with <see cref="TryReadRecord"/>. Every
/// problem is an <see cref="InvalidDataException"/> naming the frame and byte offset. Reads exactly the stream's
/// bytes, never past the trailer. Memory: one pooled buffer of the largest frame seen. Not thread-safe.
/// </summary>
internal sealed class BackendStreamReader : IDisposable
{
    private readonly Stream source;
    private byte[] payload;
    private byte[] lastKey; // The previous record's key, to check strict order across frames.
    private int lastKeyBytes = -1; // -1: no record yet.
    private int payloadBytes;
    private int readAt; // Next record's offset in the payload.
    private int recordsLeft; // Records of the current frame not yet taken.
    private int frameRecord; // 1-based number of the last record taken in the current frame.
    private uint runningCrc; // Invariant: the CRC of the last verified block (the header's before the first frame).
    private ulong records;
    private ulong frames;
    private ulong blocks; // Frames and the trailer: block n is frame n, the trailer comes after the last frame.
    private ulong offset; // Bytes consumed from the source.
    private ulong blockOffset; // Where the current block's header starts.

    public BackendStreamReader(Stream source)
    {
        this.source = source;
        payload = ArrayPool<byte>.Shared.Rent(BackendStream.FrameTargetBytes);
        lastKey = ArrayPool<byte>.Shared.Rent(256);
    }

    /// <summary>The applied index the header names; valid after <see cref="ReadHeader"/>.</summary>
    public ulong AppliedIndex { get; private set; }

    /// <summary>Records taken so far.</summary>
    public ulong Records => records;

    /// <summary>Where the last record taken is, for messages: frame, byte offset and record number.</summary>
    public string RecordLocation => $"frame {frames} (byte offset {blockOffset}), record {frameRecord}";

    public void ReadHeader()
    {
        Span<byte> header = stackalloc byte[StreamFormat.HeaderBytes];
        if (!TryFill(header))
        {
            StreamFormat.Reject("the header", $"the stream ends after {offset} bytes, inside the {StreamFormat.HeaderBytes}-byte header");
        }
        if (!header[..8].SequenceEqual(StreamFormat.Magic))
        {
            StreamFormat.Reject("the header", $"not a backend stream (magic '{Printable(header[..8])}', expected '{Printable(StreamFormat.Magic)}')");
        }
        runningCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[28..]);
        if (runningCrc != Crc32C.Compute(header[..28]))
        {
            StreamFormat.Reject("the header", "header CRC mismatch");
        }
        var version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != StreamFormat.Version)
        {
            StreamFormat.Reject("the header", $"format version {version}, this build reads {StreamFormat.Version}");
        }
        AppliedIndex = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
    }

    /// <summary>Reads and verifies the next block: true for a frame (take its records), false for a valid trailer.</summary>
    public bool ReadFrame(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (recordsLeft != 0)
        {
            throw new InvalidOperationException($"{recordsLeft} record(s) of frame {frames} were not taken.");
        }
        blockOffset = offset;
        blocks++;
        Span<byte> header = stackalloc byte[StreamFormat.BlockHeaderBytes];
        if (!TryFill(header))
        {
            FailBlock($"the stream is truncated: it ends after {frames} frame(s) and {offset} bytes, without a trailer");
        }
        if (!StreamFormat.HeaderCrcHolds(header))
        {
            FailBlock("block header CRC mismatch");
        }
        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        var count = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        var type = header[8];
        if (header[9] != 0 || header[10] != 0 || header[11] != 0)
        {
            FailBlock("reserved header bytes are not zero");
        }
        return type switch
        {
            StreamFormat.FrameType => ReadFrameBody(header, length, count),
            StreamFormat.TrailerType => ReadTrailer(header, length, count),
            _ => FailBlock<bool>($"unknown block type {type}"),
        };
    }

    /// <summary>Takes the next record of the current frame; false after its last (checking the frame was used up).</summary>
    public bool TryReadRecord(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        if (recordsLeft == 0)
        {
            if (readAt != payloadBytes)
            {
                FailBlock($"{payloadBytes - readAt} bytes follow the frame's last record");
            }
            key = value = default;
            return false;
        }
        frameRecord++;
        if (payloadBytes - readAt < StreamFormat.RecordHeaderBytes)
        {
            FailRecord("the record header runs past the frame");
        }
        var keyBytes = BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(readAt));
        var valueBytes = BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(readAt + 4));
        var start = readAt + StreamFormat.RecordHeaderBytes;
        if (keyBytes == 0 || (long)keyBytes + valueBytes > payloadBytes - start)
        {
            FailRecord($"key of {keyBytes} bytes and value of {valueBytes} bytes do not fit the frame");
        }
        key = payload.AsSpan(start, (int)keyBytes);
        value = payload.AsSpan(start + (int)keyBytes, (int)valueBytes);
        if (lastKeyBytes >= 0 && key.SequenceCompareTo(lastKey.AsSpan(0, lastKeyBytes)) <= 0)
        {
            FailRecord("keys are not in strictly increasing order");
        }
        RememberKey(key);
        readAt = start + (int)keyBytes + (int)valueBytes;
        recordsLeft--;
        records++;
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (payload.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(payload);
            ArrayPool<byte>.Shared.Return(lastKey);
            payload = lastKey = [];
        }
    }

    private bool ReadFrameBody(ReadOnlySpan<byte> header, uint length, uint count)
    {
        // Every record takes at least its header and a 1-byte key, which bounds the count by the length.
        if (length == 0 || length > BackendStream.FramePayloadBytesMax || count == 0 || count > length / (StreamFormat.RecordHeaderBytes + 1))
        {
            FailBlock($"frame of {length} bytes with {count} records (limit {BackendStream.FramePayloadBytesMax} bytes, at least 1 record)");
        }
        frames++;
        ReadPayload(header, (int)length, "frame");
        payloadBytes = (int)length;
        readAt = 0;
        recordsLeft = (int)count;
        frameRecord = 0;
        return true;
    }

    private bool ReadTrailer(ReadOnlySpan<byte> header, uint length, uint count)
    {
        if (length != StreamFormat.TrailerPayloadBytes || count != 0)
        {
            FailBlock($"trailer of {length} bytes with {count} records (expected {StreamFormat.TrailerPayloadBytes} and 0)");
        }
        var previousCrc = runningCrc;
        ReadPayload(header, (int)length, "trailer");
        var trailer = payload.AsSpan(0, StreamFormat.TrailerPayloadBytes);
        var (trailerRecords, trailerFrames) = (BinaryPrimitives.ReadUInt64LittleEndian(trailer), BinaryPrimitives.ReadUInt64LittleEndian(trailer[8..]));
        var bytesBefore = BinaryPrimitives.ReadUInt64LittleEndian(trailer[16..]);
        var trailerCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer[24..]);
        if (trailerRecords != records || trailerFrames != frames || bytesBefore != blockOffset || trailerCrc != previousCrc)
        {
            FailBlock($"the trailer counts {trailerRecords} records, {trailerFrames} frames, {bytesBefore} bytes and CRC " +
                $"{trailerCrc:x8}; the stream held {records}, {frames}, {blockOffset} and {previousCrc:x8}");
        }
        return false;
    }

    /// <summary>Reads a block's payload into the buffer and checks the chained block CRC.</summary>
    private void ReadPayload(ReadOnlySpan<byte> header, int length, string what)
    {
        if (payload.Length < length)
        {
            ArrayPool<byte>.Shared.Return(payload);
            payload = []; // Rent may throw: never return the same array twice.
            payload = ArrayPool<byte>.Shared.Rent(length);
        }
        if (!TryFill(payload.AsSpan(0, length)))
        {
            FailBlock($"the stream is truncated inside the {what}: it ends after {offset} bytes");
        }
        var crc = StreamFormat.BlockCrc(header, payload.AsSpan(0, length), runningCrc);
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(header[12..]))
        {
            FailBlock($"{what} CRC mismatch (damaged, or a block is missing, repeated or out of order)");
        }
        runningCrc = crc;
    }

    private void RememberKey(ReadOnlySpan<byte> key)
    {
        if (lastKey.Length < key.Length)
        {
            ArrayPool<byte>.Shared.Return(lastKey);
            lastKey = [];
            lastKey = ArrayPool<byte>.Shared.Rent(key.Length);
        }
        key.CopyTo(lastKey);
        lastKeyBytes = key.Length;
    }

    private bool TryFill(Span<byte> into)
    {
        var read = source.ReadAtLeast(into, into.Length, throwOnEndOfStream: false);
        offset += (ulong)read;
        return read == into.Length;
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        Span<char> text = stackalloc char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            text[i] = bytes[i] is >= 0x20 and < 0x7F ? (char)bytes[i] : '?';
        }
        return new string(text);
    }

    [DoesNotReturn]
    private void FailBlock(string problem) => StreamFormat.Reject($"block {blocks} (byte offset {blockOffset})", problem);

    [DoesNotReturn]
    private T FailBlock<T>(string problem)
    {
        FailBlock(problem);
        return default;
    }

    [DoesNotReturn]
    private void FailRecord(string problem) => StreamFormat.Reject(RecordLocation, problem);
}
