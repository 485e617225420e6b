using System.Buffers.Binary;
using System.Globalization;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Raft.Storage.Wal;

/// <summary>Receives each verified record of a segment, in order.</summary>
/// <param name="type">The record type.</param>
/// <param name="payload">The payload; only valid during the call.</param>
/// <param name="offsetBytes">Offset of the record's frame in the segment file (for error messages).</param>
internal delegate void RecordHandler(RecordType type, ReadOnlySpan<byte> payload, long offsetBytes);

/// <summary>How a segment ends.</summary>
/// <param name="EndOffsetBytes">End of the last valid record: where the next record goes.</param>
/// <param name="Records">Valid records read.</param>
/// <param name="LastCrc">CRC of the last valid record (or of the header): the seed of the next record.</param>
/// <param name="TornReason">Why the bytes at <paramref name="EndOffsetBytes"/> are an interrupted write, or null when the segment ends cleanly.</param>
/// <param name="DirtyEndOffsetBytes">End of the last non-zero byte at or after <paramref name="EndOffsetBytes"/> (equal to it when only zeros follow).</param>
internal sealed record SegmentScanResult(long EndOffsetBytes, int Records, uint LastCrc, string? TornReason, long DirtyEndOffsetBytes);

/// <summary>
/// Reads one segment and decides, record by record, whether it is valid, the torn tail of an interrupted write, or
/// damage.
/// </summary>
/// <remarks>
/// <para>Unwritten space reads as zeros (segments are new files, zero-filled or grown, never reused), and a disk
/// writes whole sectors atomically. So an append cut short by a crash leaves either a file that ends inside the record,
/// or a record in which some sector, from the record's bytes to the sector's end, is still all zeros. Only such a
/// record, and only in the last segment (the only one written to without a later sync), counts as torn: it and
/// everything after it are discarded. Anything else that fails a check is corruption and is reported with its
/// offset: a bit flip in acknowledged data must never be mistaken for a torn write and silently dropped.</para>
/// <para>An all-zero record header ends the records. In a sealed segment the rest must be zeros too.</para>
/// </remarks>
internal static class SegmentScanner
{
    public static SegmentScanResult Scan(string path, ReadOnlySpan<byte> file, ulong expectedSequence, bool isLast, RecordHandler handler)
    {
        var seed = VerifyHeader(path, file, expectedSequence);
        long pos = WalFormat.SegmentHeaderSizeBytes;
        var records = 0;
        while (true)
        {
            var remaining = file.Length - pos;
            if (remaining == 0) return new SegmentScanResult(pos, records, seed, null, pos);
            if (remaining < WalFormat.FrameHeaderSizeBytes)
            {
                var rest = file[(int)pos..];
                if (WalFormat.IsAllZero(rest)) return new SegmentScanResult(pos, records, seed, null, pos);
                if (isLast) return Torn(file, pos, records, seed, "the file ends inside a record header");
                throw Corrupt(path, pos, "a complete record header or zero fill", $"{remaining} trailing bytes that are not zero");
            }
            var header = file.Slice((int)pos, WalFormat.FrameHeaderSizeBytes);
            if (WalFormat.IsAllZero(header))
            {
                var dirtyEnd = DirtyEnd(file, pos);
                if (dirtyEnd != pos && !isLast)
                    throw Corrupt(path, pos + file[(int)pos..].IndexOfAnyExcept((byte)0),
                        "zero fill after the last record of a sealed segment", "non-zero bytes");
                return new SegmentScanResult(pos, records, seed, null, dirtyEnd);
            }
            var storedHeaderCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
            var headerCrc = Crc32C.Compute(header[..12]);
            if (storedHeaderCrc != headerCrc)
            {
                if (isLast && HasUnwrittenSector(file, pos, pos + WalFormat.FrameHeaderSizeBytes))
                    return Torn(file, pos, records, seed, "a record header only partly written (a zero sector inside it)");
                throw Corrupt(path, pos, $"a record header with checksum {Hex(storedHeaderCrc)}", $"checksum {Hex(headerCrc)} computed over the header");
            }
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var type = (RecordType)header[4];
            if (length == 0 || length > WalFormat.MaxPayloadBytes || !Enum.IsDefined(type) || header[5] != 0 || header[6] != 0 || header[7] != 0)
                throw Corrupt(path, pos, $"a record header with a payload length in [1, {WalFormat.MaxPayloadBytes}], a known type and zero reserved bytes",
                    $"length {length}, type {(byte)type}, reserved {header[5]} {header[6]} {header[7]} (header checksum valid: a writer bug or a crafted file)");
            var end = pos + WalFormat.FrameHeaderSizeBytes + length;
            if (end > file.Length)
            {
                if (isLast) return Torn(file, pos, records, seed, $"the file ends inside a {length}-byte record");
                throw Corrupt(path, pos, $"a {length}-byte record inside the segment", $"only {remaining - WalFormat.FrameHeaderSizeBytes} bytes left in the file");
            }
            var payload = file.Slice((int)pos + WalFormat.FrameHeaderSizeBytes, (int)length);
            var storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            var crc = Crc32C.Append(Crc32C.Append(seed, header[..8]), payload);
            if (crc != storedCrc)
            {
                if (isLast && HasUnwrittenSector(file, pos, end))
                    return Torn(file, pos, records, seed, $"a {type} record only partly written (a zero sector inside it)");
                throw Corrupt(path, pos, $"a {length}-byte {type} record with checksum {Hex(storedCrc)} (chained to the previous record)",
                    $"checksum {Hex(crc)} computed over it");
            }
            var expectedPayload = type switch
            {
                RecordType.HardState => WalFormat.HardStatePayloadBytes,
                RecordType.SnapshotMarker => WalFormat.SnapshotMarkerPayloadBytes,
                _ => -1,
            };
            if ((expectedPayload >= 0 && length != expectedPayload) || (type == RecordType.Entry && length < WalFormat.EntryPayloadHeaderBytes))
                throw Corrupt(path, pos, $"a {type} payload of {(expectedPayload >= 0 ? expectedPayload.ToString(CultureInfo.InvariantCulture) : "at least " + WalFormat.EntryPayloadHeaderBytes)} bytes",
                    $"{length} bytes");
            handler(type, payload, pos);
            records++;
            seed = storedCrc;
            pos = end;
        }
    }

    /// <summary>Checks the segment header; returns its CRC (the seed of the first record).</summary>
    private static uint VerifyHeader(string path, ReadOnlySpan<byte> file, ulong expectedSequence)
    {
        if (file.Length < WalFormat.SegmentHeaderSizeBytes)
            throw Corrupt(path, 0, $"a {WalFormat.SegmentHeaderSizeBytes}-byte segment header", $"a file of {file.Length} bytes");
        var h = file[..WalFormat.SegmentHeaderSizeBytes];
        var magic = BinaryPrimitives.ReadUInt64LittleEndian(h);
        if (magic != WalFormat.SegmentMagic)
            throw Corrupt(path, 0, "the segment magic \"RKVWAL01\"", $"0x{magic.ToString("X16", CultureInfo.InvariantCulture)}");
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(h[28..]);
        var computed = Crc32C.Compute(h[..28]);
        if (stored != computed)
            throw Corrupt(path, 0, $"a segment header with checksum {Hex(stored)}", $"checksum {Hex(computed)} computed over it");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
        if (version != WalFormat.FormatVersion)
            throw Corrupt(path, 8, $"format version {WalFormat.FormatVersion}", $"version {version}");
        var sequence = BinaryPrimitives.ReadUInt64LittleEndian(h[16..]);
        if (sequence != expectedSequence)
            throw Corrupt(path, 16, $"segment sequence {expectedSequence} (from the file name)", $"sequence {sequence}");
        return stored;
    }

    /// <summary>
    /// Whether some disk sector overlapping the record <c>[start, end)</c> looks never written: all zeros from the
    /// record's first byte in that sector to the sector's end (or the end of the file).
    /// </summary>
    private static bool HasUnwrittenSector(ReadOnlySpan<byte> file, long start, long end)
    {
        const int sector = WalFormat.SectorSizeBytes;
        for (var s = start / sector * sector; s < end; s += sector)
        {
            var from = Math.Max(start, s);
            var to = Math.Min(file.Length, s + sector);
            if (from >= to) return true; // the file ends before this sector
            if (WalFormat.IsAllZero(file[(int)from..(int)to])) return true;
        }
        return false;
    }

    private static SegmentScanResult Torn(ReadOnlySpan<byte> file, long pos, int records, uint seed, string reason) =>
        new(pos, records, seed, reason, DirtyEnd(file, pos));

    private static long DirtyEnd(ReadOnlySpan<byte> file, long from)
    {
        var last = file[(int)from..].LastIndexOfAnyExcept((byte)0);
        return last < 0 ? from : from + last + 1;
    }

    private static string Hex(uint value) => "0x" + value.ToString("X8", CultureInfo.InvariantCulture);

    private static StorageCorruptException Corrupt(string path, long offset, string expected, string found) => new(path, offset, expected, found);
}
