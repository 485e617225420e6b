using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Raft.Storage.Snapshots;

/// <summary>
/// The byte layout of a snapshot file <c>snap/{index:D20}-{term:D20}.snap</c>. All integers are little-endian.
/// </summary>
/// <remarks>
/// Version 1 (a plain set of voters): magic "RKVSNAP1" (8) | version u32 = 1 | voter count u32 | index u64 | term u64 |
/// data length u64 | data CRC-32C u32 | reserved u32 = 0 | voters (u64 each) | header CRC-32C u32 over everything
/// before it | data. Version 2 (learners or a joint configuration): the same up to the data CRC, then flags u32 (bit 0:
/// auto-leave) | learner count u32 | outgoing voter count u32 | voters | learners | outgoing voters | header CRC-32C |
/// data. Version 1 is written whenever it can hold the configuration. The file is exactly that long; index and term
/// must match the file name.
/// </remarks>
internal static class SnapshotFileFormat
{
    public const int FixedHeaderBytes = 48;
    public const int FixedHeaderBytesV2 = 56;
    public const uint FormatVersion = 1;
    public const uint FormatVersionWithLearners = 2;

    /// <summary>Most node ids (voters, learners and outgoing voters together) a snapshot's membership may list.</summary>
    public const int MaxVoters = 4096;

    public const string Extension = ".snap";
    public const string TemporaryExtension = ".tmp";

    private const int ReadChunkBytes = 1024 * 1024;

    /// <summary>"RKVSNAP1" read as a little-endian u64.</summary>
    public static readonly ulong Magic = BinaryPrimitives.ReadUInt64LittleEndian("RKVSNAP1"u8);

    public static string FileName(ulong index, ulong term) =>
        $"{index.ToString("D20", CultureInfo.InvariantCulture)}-{term.ToString("D20", CultureInfo.InvariantCulture)}{Extension}";

    /// <summary>Parses <c>{index:D20}-{term:D20}.snap</c>; false for any other name.</summary>
    public static bool TryParseFileName(string fileName, out ulong index, out ulong term)
    {
        index = 0;
        term = 0;
        if (fileName.Length != 20 + 1 + 20 + Extension.Length || !fileName.EndsWith(Extension, StringComparison.Ordinal) || fileName[20] != '-')
            return false;
        return ulong.TryParse(fileName.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out index)
            && ulong.TryParse(fileName.AsSpan(21, 20), NumberStyles.None, CultureInfo.InvariantCulture, out term);
    }

    /// <summary>Header bytes (everything before the data) for <paramref name="snapshot"/>.</summary>
    public static byte[] EncodeHeader(Snapshot snapshot)
    {
        var conf = snapshot.Metadata.ConfState;
        var v2 = conf.Learners.Count > 0 || conf.IsJoint;
        var ids = conf.Voters.Concat(conf.Learners).Concat(conf.VotersOutgoing).ToArray();
        var fixedBytes = v2 ? FixedHeaderBytesV2 : FixedHeaderBytes;
        var header = new byte[fixedBytes + ids.Length * 8 + 4];
        var h = header.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(h, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], v2 ? FormatVersionWithLearners : FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)conf.Voters.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], snapshot.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], snapshot.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], (ulong)snapshot.Data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[40..], Crc32C.Compute(snapshot.Data.Span));
        if (v2)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(h[44..], conf.AutoLeave ? 1u : 0u);
            BinaryPrimitives.WriteUInt32LittleEndian(h[48..], (uint)conf.Learners.Count);
            BinaryPrimitives.WriteUInt32LittleEndian(h[52..], (uint)conf.VotersOutgoing.Count);
        }
        for (var i = 0; i < ids.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(h[(fixedBytes + i * 8)..], ids[i]);
        var crcAt = header.Length - 4;
        BinaryPrimitives.WriteUInt32LittleEndian(h[crcAt..], Crc32C.Compute(h[..crcAt]));
        return header;
    }

    /// <summary>
    /// Reads and fully verifies a snapshot file. Returns the snapshot with its data when <paramref name="loadData"/>,
    /// else with empty data (verification only, in constant memory). Throws <see cref="InvalidSnapshotException"/>
    /// saying what is wrong; I/O failures propagate as they are.
    /// </summary>
    public static Snapshot Read(string path, long maxDataBytes, bool loadData)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        var fileLength = RandomAccess.GetLength(handle);
        Span<byte> fixedHeader = stackalloc byte[FixedHeaderBytesV2];
        if (fileLength < FixedHeaderBytes + 4 || ReadExactly(handle, fixedHeader[..FixedHeaderBytes], 0) != FixedHeaderBytes)
            throw new InvalidSnapshotException($"the file has {fileLength} bytes, less than a snapshot header");
        if (BinaryPrimitives.ReadUInt64LittleEndian(fixedHeader) != Magic) throw new InvalidSnapshotException("bad magic (expected \"RKVSNAP1\")");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(fixedHeader[8..]);
        if (version is not (FormatVersion or FormatVersionWithLearners))
            throw new InvalidSnapshotException($"format version {version}, expected {FormatVersion} or {FormatVersionWithLearners}");
        var fixedBytes = FixedHeaderBytes;
        uint learnerCount = 0, outgoingCount = 0;
        var autoLeave = false;
        if (version == FormatVersionWithLearners)
        {
            fixedBytes = FixedHeaderBytesV2;
            if (fileLength < FixedHeaderBytesV2 + 4 || ReadExactly(handle, fixedHeader, 0) != FixedHeaderBytesV2)
                throw new InvalidSnapshotException($"the file has {fileLength} bytes, less than a version 2 snapshot header");
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(fixedHeader[44..]);
            if (flags > 1) throw new InvalidSnapshotException($"undefined flags 0x{flags:X8}");
            autoLeave = flags == 1;
            learnerCount = BinaryPrimitives.ReadUInt32LittleEndian(fixedHeader[48..]);
            outgoingCount = BinaryPrimitives.ReadUInt32LittleEndian(fixedHeader[52..]);
        }
        var voterCount = BinaryPrimitives.ReadUInt32LittleEndian(fixedHeader[12..]);
        if (voterCount is 0 or > MaxVoters) throw new InvalidSnapshotException($"voter count {voterCount} outside [1, {MaxVoters}]");
        if ((ulong)voterCount + learnerCount + outgoingCount > MaxVoters)
            throw new InvalidSnapshotException($"{voterCount} voters, {learnerCount} learners and {outgoingCount} outgoing voters are more than {MaxVoters} ids");
        var idCount = (int)(voterCount + learnerCount + outgoingCount);
        var index = BinaryPrimitives.ReadUInt64LittleEndian(fixedHeader[16..]);
        var term = BinaryPrimitives.ReadUInt64LittleEndian(fixedHeader[24..]);
        var dataLength = BinaryPrimitives.ReadUInt64LittleEndian(fixedHeader[32..]);
        var dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(fixedHeader[40..]);
        if (dataLength > (ulong)maxDataBytes) throw new InvalidSnapshotException($"data length {dataLength} exceeds the limit of {maxDataBytes} bytes");
        var headerBytes = fixedBytes + idCount * 8 + 4;
        if ((ulong)fileLength != (ulong)headerBytes + dataLength)
            throw new InvalidSnapshotException($"the file has {fileLength} bytes, the header says {(ulong)headerBytes + dataLength}");
        var header = new byte[headerBytes];
        if (ReadExactly(handle, header, 0) != headerBytes) throw new InvalidSnapshotException("the file ends inside the header");
        var storedHeaderCrc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(headerBytes - 4));
        var headerCrc = Crc32C.Compute(header.AsSpan(0, headerBytes - 4));
        if (storedHeaderCrc != headerCrc)
            throw new InvalidSnapshotException($"header checksum 0x{headerCrc:X8} does not match the stored 0x{storedHeaderCrc:X8}");
        var ids = new ulong[idCount];
        for (var i = 0; i < ids.Length; i++) ids[i] = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(fixedBytes + i * 8));
        ConfState conf;
        try
        {
            var voters = ids.AsSpan(0, (int)voterCount).ToArray();
            var learners = ids.AsSpan((int)voterCount, (int)learnerCount).ToArray();
            var outgoing = ids.AsSpan((int)(voterCount + learnerCount)).ToArray();
            conf = new ConfState(voters, learners, outgoing, autoLeave);
        }
        catch (ArgumentException e)
        {
            throw new InvalidSnapshotException($"invalid membership: {e.Message}");
        }
        byte[] data = loadData ? GC.AllocateUninitializedArray<byte>((int)dataLength) : [];
        var crc = Crc32C.Empty;
        if (loadData)
        {
            if (ReadExactly(handle, data, headerBytes) != data.Length) throw new InvalidSnapshotException("the file ends inside the data");
            crc = Crc32C.Compute(data);
        }
        else
        {
            var chunk = new byte[(int)Math.Min(ReadChunkBytes, Math.Max(1, (long)dataLength))];
            for (ulong done = 0; done < dataLength;)
            {
                var n = (int)Math.Min((ulong)chunk.Length, dataLength - done);
                if (ReadExactly(handle, chunk.AsSpan(0, n), headerBytes + (long)done) != n) throw new InvalidSnapshotException("the file ends inside the data");
                crc = Crc32C.Append(crc, chunk.AsSpan(0, n));
                done += (ulong)n;
            }
        }
        if (crc != dataCrc) throw new InvalidSnapshotException($"data checksum 0x{crc:X8} does not match the stored 0x{dataCrc:X8}");
        return new Snapshot(new SnapshotMetadata(index, term, conf), data);
    }

    private static int ReadExactly(SafeFileHandle handle, Span<byte> into, long offset)
    {
        var read = 0;
        while (read < into.Length)
        {
            var n = RandomAccess.Read(handle, into[read..], offset + read);
            if (n == 0) break;
            read += n;
        }
        return read;
    }
}
