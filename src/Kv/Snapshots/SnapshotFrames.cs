namespace RaftKv.Kv.Snapshots;

/// <summary>
/// Snapshot bytes travel in checksummed frames: [kind u8][sequence u32][payload length u32][payload][crc32 u32],
/// the CRC covering header and payload, little-endian. Data frames carry the record stream; one end frame carries
/// the total payload length and an XxHash64 of all payloads. Every byte is verified before it is parsed, so damage
/// is reported as such instead of being misread as a giant length or a wrong value.
/// </summary>
internal static class SnapshotFrames
{
    public const byte DataKind = 1;
    public const byte EndKind = 2;
    public const int HeaderBytes = 9;
    public const int CrcBytes = 4;
    public const int EndPayloadBytes = 16;

    /// <summary>Payload bytes the writer puts in a data frame.</summary>
    public const int WriterPayloadBytes = 64 * 1024;

    /// <summary>Largest payload a reader accepts; bounds what one damaged header can make it allocate.</summary>
    public const int MaxPayloadBytes = 1024 * 1024;
}
