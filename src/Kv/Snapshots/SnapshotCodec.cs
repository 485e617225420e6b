using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Snapshots;

/// <summary>
/// The records of a store snapshot, streamed key by key from a <see cref="FrozenState"/> (never serialized into one
/// buffer): magic and format version; applied index, current and compact revision; the alarms; then each key (in
/// key order) with its versions (oldest first); from format 2 the leases (count, then id and granted TTL each, in id
/// order; from format 3 each also with its checkpointed remaining TTL, 0 for none); from format 4 the cluster record, from format 5 the auth record
/// (a blob, empty for none); then an end marker. The change log and the lease attachments are rebuilt on restore (a
/// key is attached to the lease its newest version names); format 1, written before leases, restores with none;
/// format 2, written before checkpoints, with no checkpoints; format 3, written before the cluster record, with an
/// empty one; format 4, written before the auth record, with an empty one (auth never configured).
/// </summary>
internal static class SnapshotCodec
{
    private const long Magic = 0x3153_5356_4B54_4652; // "RFTKVSS1" little-endian
    private const int FormatVersion = 5;
    private const int FormatBeforeAuthRecord = 4;
    private const int FormatBeforeClusterRecord = 3;
    private const int FormatBeforeCheckpoints = 2;
    private const int FormatBeforeLeases = 1;
    private const int EndMarker = 0x2144_4E45; // "END!"
    private const byte TombstoneFlag = 1;

    // Sanity bounds for restore; far above anything max-request-bytes lets in.
    private const int MaxKeyBytes = 64 * 1024 * 1024;
    private const int MaxValueBytes = 1024 * 1024 * 1024;

    /// <summary>Writes the snapshot of <paramref name="state"/>; touches nothing but the frozen copy.</summary>
    public static void Write(FrozenState state, Stream destination) => Write(state, destination, FormatVersion);

    /// <summary>
    /// Writes the snapshot in an older <paramref name="format"/> (1: no leases, 2: no checkpoints, 3: no cluster record)
    /// as the versions before wrote it: for the tests that a snapshot of an older member still restores. What it cannot
    /// hold is left out.
    /// </summary>
    internal static void Write(FrozenState state, Stream destination, int format)
    {
        if (!IsKnown(format))
        {
            throw new ArgumentOutOfRangeException(nameof(format), format, "not a snapshot format this version writes");
        }

        var writer = new SnapshotFrameWriter(destination);
        writer.WriteInt64(Magic);
        writer.WriteInt32(format);
        writer.WriteInt64((long)state.AppliedIndex);
        writer.WriteInt64(state.CurrentRevision);
        writer.WriteInt64(state.CompactRevision);
        writer.WriteInt32(state.Alarms.Length);
        foreach (var (memberId, type) in state.Alarms)
        {
            writer.WriteInt64((long)memberId);
            writer.WriteInt32((int)type);
        }

        writer.WriteInt64(state.KeyCount);
        for (var k = 0; k < state.KeyCount; k++)
        {
            var versions = state.Versions(k);
            writer.WriteBlob(state.Key(k).Span);
            writer.WriteInt32(versions.Length);
            foreach (ref readonly var entry in versions)
            {
                writer.WriteInt64(entry.Main);
                writer.WriteInt32(entry.Sub);
                writer.WriteByte(entry.IsTombstone ? TombstoneFlag : (byte)0);
                if (!entry.IsTombstone)
                {
                    writer.WriteInt64(entry.CreateRevision);
                    writer.WriteInt64(entry.Version);
                    writer.WriteInt64(entry.Lease);
                    writer.WriteBlob(entry.Value!.Span);
                }
            }
        }

        if (format != FormatBeforeLeases)
        {
            writer.WriteInt32(state.Leases.Length);
            foreach (var (id, ttl, remaining) in state.Leases)
            {
                writer.WriteInt64(id);
                writer.WriteInt64(ttl);
                if (format != FormatBeforeCheckpoints)
                {
                    writer.WriteInt64(remaining);
                }
            }
        }

        if (format >= FormatBeforeAuthRecord)
        {
            writer.WriteBlob(state.ClusterRecord.Span);
        }

        if (format >= FormatVersion)
        {
            writer.WriteBlob(state.AuthRecord.Span);
        }

        writer.WriteInt32(EndMarker);
        writer.Finish();
    }

    private static bool IsKnown(int format) => format is FormatVersion or FormatBeforeAuthRecord or FormatBeforeClusterRecord or FormatBeforeCheckpoints or FormatBeforeLeases;

    /// <summary>
    /// The exact number of bytes <see cref="Write(FrozenState, Stream)"/> writes for <paramref name="state"/>: each record size below
    /// mirrors a write above, field by field, and <see cref="SnapshotFrameWriter"/> adds a header and CRC to every
    /// full or final partial data frame plus one end frame. O(versions), reading only lengths.
    /// </summary>
    public static long StreamBytes(FrozenState state)
    {
        const int FieldsBefore = sizeof(long) + sizeof(int) + (3 * sizeof(long)) + sizeof(int); // magic .. alarm count
        const int AlarmBytes = sizeof(long) + sizeof(int);
        const int FieldsAfter = sizeof(long) + sizeof(int) + sizeof(int) + sizeof(int) + sizeof(int); // key count, lease count, cluster and auth record lengths, end marker
        const int LeaseBytes = 3 * sizeof(long); // id, granted TTL, remaining TTL
        const int VersionBytes = sizeof(long) + sizeof(int) + 1; // main, sub, flags
        const int ValueFieldBytes = (3 * sizeof(long)) + sizeof(int); // create revision, version, lease, value length
        long payload = FieldsBefore + ((long)state.Alarms.Length * AlarmBytes) + FieldsAfter + ((long)state.Leases.Length * LeaseBytes)
            + state.ClusterRecord.Length + state.AuthRecord.Length;
        for (var k = 0; k < state.KeyCount; k++)
        {
            var versions = state.Versions(k);
            payload += sizeof(int) + state.Key(k).Length + sizeof(int) + ((long)versions.Length * VersionBytes);
            foreach (ref readonly var entry in versions)
            {
                if (!entry.IsTombstone)
                {
                    payload += ValueFieldBytes + entry.Value!.Length;
                }
            }
        }

        const int FrameOverhead = SnapshotFrames.HeaderBytes + SnapshotFrames.CrcBytes;
        var dataFrames = (payload + SnapshotFrames.WriterPayloadBytes - 1) / SnapshotFrames.WriterPayloadBytes;
        return payload + (dataFrames * FrameOverhead) + FrameOverhead + SnapshotFrames.EndPayloadBytes;
    }

    public static MvccState Read(Stream source)
    {
        try
        {
            return ReadChecked(source);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new KvSnapshotCorruptException($"the snapshot breaks a store invariant: {e.Message}", e);
        }
    }

    private static MvccState ReadChecked(Stream source)
    {
        var reader = new SnapshotFrameReader(source);
        if (reader.ReadInt64() != Magic)
        {
            throw new KvSnapshotCorruptException("not a RaftKv store snapshot (bad magic)");
        }

        var version = reader.ReadInt32();
        if (!IsKnown(version))
        {
            throw new KvSnapshotCorruptException($"snapshot format {version} is not supported (expected {FormatVersion})");
        }

        var state = new MvccState();
        state.RestoreScalars((ulong)reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64());
        var alarmCount = reader.ReadInt32();
        if (alarmCount < 0 || alarmCount > Alarms.AlarmSet.MaxAlarms)
        {
            throw new KvSnapshotCorruptException($"alarm count {alarmCount} is out of range");
        }

        for (var i = 0; i < alarmCount; i++)
        {
            var memberId = (ulong)reader.ReadInt64();
            var type = (AlarmType)reader.ReadInt32();
            if (!Alarms.AlarmSet.CanRaise(type))
            {
                throw new KvSnapshotCorruptException($"alarm type {(int)type} is not one that can be raised");
            }

            if (state.Alarms.Activate(memberId, type) != Alarms.AlarmSet.Outcome.Raised)
            {
                throw new KvSnapshotCorruptException("an alarm appears twice");
            }
        }

        var keyCount = reader.ReadInt64();
        if (keyCount < 0 || keyCount > int.MaxValue)
        {
            throw new KvSnapshotCorruptException($"key count {keyCount} is out of range");
        }

        ByteString? previousKey = null;
        for (long k = 0; k < keyCount; k++)
        {
            var key = UnsafeByteOperations.UnsafeWrap(reader.ReadBlob(MaxKeyBytes, "key"));
            if (key.Length == 0 || (previousKey is not null && previousKey.Span.SequenceCompareTo(key.Span) >= 0))
            {
                throw new KvSnapshotCorruptException("snapshot keys are empty or out of order");
            }

            previousKey = key;
            var history = state.Keys.GetOrAdd(key);
            var entryCount = reader.ReadInt32();
            if (entryCount <= 0)
            {
                throw new KvSnapshotCorruptException($"key has {entryCount} versions");
            }

            for (var i = 0; i < entryCount; i++)
            {
                state.RestoreEntry(history, ReadEntry(reader));
            }
        }

        if (version != FormatBeforeLeases)
        {
            ReadLeases(reader, state, withCheckpoints: version != FormatBeforeCheckpoints);
        }

        if (version >= FormatBeforeAuthRecord)
        {
            // ReadBlob refuses a longer length before reading it; the state checks the limit again, as everything it restores.
            state.SetClusterRecord(reader.ReadBlob(KvStore.ClusterRecordMaxBytes, "cluster record"));
        }

        if (version >= FormatVersion)
        {
            state.SetAuthRecord(reader.ReadBlob(KvStore.ClusterRecordMaxBytes, "auth record"));
        }

        if (reader.ReadInt32() != EndMarker)
        {
            throw new KvSnapshotCorruptException("the snapshot's end marker is missing");
        }

        reader.Finish();
        state.RebuildLog();
        state.RebuildAttachments();
        return state;
    }

    private static void ReadLeases(SnapshotFrameReader reader, MvccState state, bool withCheckpoints)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > Leases.LeaseLimits.MaxLeases)
        {
            throw new KvSnapshotCorruptException($"lease count {count} is out of range");
        }

        long? previous = null;
        for (var i = 0; i < count; i++)
        {
            var id = reader.ReadInt64();
            var ttl = reader.ReadInt64();
            var remaining = withCheckpoints ? reader.ReadInt64() : 0;
            if (id == 0 || id <= previous || ttl < Leases.LeaseLimits.FloorTtlSeconds || ttl > Leases.LeaseLimits.MaxTtlSeconds
                || remaining < 0 || (remaining != 0 && remaining >= ttl))
            {
                throw new KvSnapshotCorruptException($"lease {id} with TTL {ttl} s and remaining TTL {remaining} s is impossible or out of order");
            }

            previous = id;
            state.LeaseTable.Restore(id, ttl, remaining);
        }
    }

    private static RevisionEntry ReadEntry(SnapshotFrameReader reader)
    {
        var main = reader.ReadInt64();
        var sub = reader.ReadInt32();
        var flags = reader.ReadByte();
        if (flags == TombstoneFlag)
        {
            return RevisionEntry.Tombstone(main, sub);
        }

        if (flags != 0)
        {
            throw new KvSnapshotCorruptException($"unknown version flags {flags}");
        }

        var createRevision = reader.ReadInt64();
        var version = reader.ReadInt64();
        var lease = reader.ReadInt64();
        var value = UnsafeByteOperations.UnsafeWrap(reader.ReadBlob(MaxValueBytes, "value"));
        if (version < 1 || createRevision < 1 || createRevision > main)
        {
            throw new KvSnapshotCorruptException($"version {version} created at {createRevision} is impossible at revision {main}");
        }

        return new RevisionEntry(main, sub, createRevision, version, lease, value);
    }
}
