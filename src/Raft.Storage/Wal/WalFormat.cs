using System.Buffers.Binary;
using System.Globalization;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Raft.Storage.Wal;

/// <summary>
/// The byte layout of a write-ahead log segment. All integers are little-endian.
/// </summary>
/// <remarks>
/// <para>Segment file <c>wal/{sequence:D20}.wal</c>: a 32-byte header, then records back to back, then zeros up to
/// the segment size (when preallocated).</para>
/// <para>Header: magic "RKVWAL01" (8) | format version u32 | reserved u32 = 0 | sequence u64 | reserved u32 = 0 |
/// CRC-32C of the preceding 28 bytes u32.</para>
/// <para>Record frame: payload length u32 (1 .. 256 MiB) | type u8 | reserved 3 bytes = 0 | record CRC u32 |
/// header CRC u32 | payload. The record CRC is CRC-32C over the first 8 header bytes and the payload, seeded with the
/// previous record's CRC (the segment header's CRC for the first record), so records cannot be reordered or replayed
/// from elsewhere. The header CRC covers the first 12 header bytes, so a damaged length is recognised as damage and
/// never misread as a torn write.</para>
/// <para>Payloads: Entry = index u64 | term u64 | entry type u8 | data. HardState = term u64 | vote u64 | commit u64.
/// SnapshotMarker = index u64 | term u64.</para>
/// </remarks>
internal static class WalFormat
{
    public const int SegmentHeaderSizeBytes = 32;
    public const int FrameHeaderSizeBytes = 16;
    public const int EntryPayloadHeaderBytes = 17;
    public const int HardStatePayloadBytes = 24;
    public const int SnapshotMarkerPayloadBytes = 16;
    public const uint FormatVersion = 1;

    /// <summary>Absolute limit on a record payload, whatever the options say (a length above it is damage).</summary>
    public const int MaxPayloadBytes = 256 * 1024 * 1024;

    /// <summary>Granularity at which a disk writes atomically; a torn write leaves whole zero sectors.</summary>
    public const int SectorSizeBytes = 512;

    /// <summary>What every segment needs besides data records: its header and the hard state record it starts with.</summary>
    public const int EmptySegmentOverheadBytes = SegmentHeaderSizeBytes + FrameHeaderSizeBytes + HardStatePayloadBytes;

    public const string SegmentExtension = ".wal";
    public const string TemporaryExtension = ".tmp";

    /// <summary>"RKVWAL01" read as a little-endian u64.</summary>
    public static readonly ulong SegmentMagic = BinaryPrimitives.ReadUInt64LittleEndian("RKVWAL01"u8);

    public static string SegmentFileName(ulong sequence) => sequence.ToString("D20", CultureInfo.InvariantCulture) + SegmentExtension;

    /// <summary>Parses <c>{sequence:D20}.wal</c>; false for any other name.</summary>
    public static bool TryParseSegmentFileName(string fileName, out ulong sequence)
    {
        sequence = 0;
        if (!fileName.EndsWith(SegmentExtension, StringComparison.Ordinal)) return false;
        var stem = fileName.AsSpan(0, fileName.Length - SegmentExtension.Length);
        return stem.Length == 20 && ulong.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out sequence) && sequence > 0;
    }

    /// <summary>Writes a segment header for <paramref name="sequence"/>; returns its CRC (the chain seed).</summary>
    public static uint WriteSegmentHeader(Span<byte> into, ulong sequence)
    {
        var h = into[..SegmentHeaderSizeBytes];
        h.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(h, SegmentMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], FormatVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], sequence);
        var crc = Crc32C.Compute(h[..28]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], crc);
        return crc;
    }

    /// <summary>Frame size of a record with <paramref name="payloadBytes"/> of payload.</summary>
    public static int FrameSize(int payloadBytes) => FrameHeaderSizeBytes + payloadBytes;

    /// <summary>
    /// Fills in the frame header in front of a payload already written at <c>frame[16..]</c>. Returns the record CRC,
    /// the seed of the next record.
    /// </summary>
    public static uint SealFrame(Span<byte> frame, RecordType type, int payloadBytes, uint previousCrc)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payloadBytes);
        frame[4] = (byte)type;
        frame[5] = 0;
        frame[6] = 0;
        frame[7] = 0;
        var crc = Crc32C.Append(Crc32C.Append(previousCrc, frame[..8]), frame.Slice(FrameHeaderSizeBytes, payloadBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(frame[8..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[12..], Crc32C.Compute(frame[..12]));
        return crc;
    }

    /// <summary>True when every byte is zero (vectorized).</summary>
    public static bool IsAllZero(ReadOnlySpan<byte> bytes) => !bytes.ContainsAnyExcept((byte)0);
}
