using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Kv.Backend.Snapshots;

/// <summary>
/// The byte layout of a backend stream (README.md in this folder), little-endian. A 32-byte header, then blocks:
/// frames of records, then one trailer. Every block's CRC is seeded with the previous block's (the header's for the
/// first), so a frame that is dropped, repeated or moved breaks the chain, not only one that is damaged.
/// </summary>
internal static class StreamFormat
{
    /// <summary>The first 8 bytes of every backend stream.</summary>
    public static ReadOnlySpan<byte> Magic => "RKVBKS01"u8;

    public const uint Version = 1;
    public const int HeaderBytes = 32;

    /// <summary>Block header: payload length, record count, type, 3 reserved, block CRC, header CRC.</summary>
    public const int BlockHeaderBytes = 20;

    /// <summary>The part of a block header the block CRC covers (the CRCs themselves excluded).</summary>
    public const int BlockCoveredBytes = 12;

    public const byte FrameType = 1;
    public const byte TrailerType = 2;

    /// <summary>Trailer payload: record count u64, frame count u64, bytes before the trailer u64, running CRC u32, reserved u32.</summary>
    public const int TrailerPayloadBytes = 32;

    /// <summary>A record's own header: key length u32, value length u32.</summary>
    public const int RecordHeaderBytes = 8;

    public static uint WriteHeader(Span<byte> header, ulong appliedIndex)
    {
        header[..HeaderBytes].Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt64LittleEndian(header[16..], appliedIndex);
        var crc = Crc32C.Compute(header[..28]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], crc);
        return crc;
    }

    /// <summary>Fills a block header for <paramref name="payload"/>; returns its block CRC (the next block's seed).</summary>
    public static uint WriteBlockHeader(Span<byte> header, byte type, int recordCount, ReadOnlySpan<byte> payload, uint previousCrc)
    {
        header[..BlockHeaderBytes].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)recordCount);
        header[8] = type;
        var crc = BlockCrc(header, payload, previousCrc);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], Crc32C.Compute(header[..16]));
        return crc;
    }

    public static uint BlockCrc(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, uint previousCrc) =>
        Crc32C.Append(Crc32C.Append(previousCrc, header[..BlockCoveredBytes]), payload);

    public static bool HeaderCrcHolds(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header[16..]) == Crc32C.Compute(header[..16]);

    public static void WriteRecordHeader(Span<byte> destination, int keyBytes, int valueBytes)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)keyBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)valueBytes);
    }

    public static void WriteTrailer(Span<byte> payload, ulong records, ulong frames, ulong bytesBeforeTrailer, uint runningCrc)
    {
        payload[..TrailerPayloadBytes].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(payload, records);
        BinaryPrimitives.WriteUInt64LittleEndian(payload[8..], frames);
        BinaryPrimitives.WriteUInt64LittleEndian(payload[16..], bytesBeforeTrailer);
        BinaryPrimitives.WriteUInt32LittleEndian(payload[24..], runningCrc);
    }

    /// <summary>Throws the one error of bad stream data, naming where it is (block or record, byte offset) and what.</summary>
    [DoesNotReturn]
    public static void Reject(string where, string problem) =>
        throw new InvalidDataException($"Backend stream rejected at {where}: {problem}.");
}
