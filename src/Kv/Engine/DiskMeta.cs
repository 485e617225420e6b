using System.Buffers.Binary;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Alarms;
using RaftKv.Kv.Backend;
using RaftKv.Kv.Backend.Mvcc;

namespace RaftKv.Kv.Engine;

/// <summary>
/// The MVCC scalars the disk engine keeps beside the versions, in one record committed with every applied batch (so
/// they never disagree with the data): format byte 1, then current revision, compact revision, logical size and
/// version count (8 bytes each, little-endian), the alarm count (4 bytes) and each alarm as member id (8) and type (4).
/// Format 2, written only while a compaction is being carried out, adds the <see cref="CompactionWalk"/> after the
/// alarms: done-to, target and cursor main (8 bytes each) and cursor sub (4); format 1 means every compaction is
/// carried out. The applied index is the backend's own (<see cref="BackendView.AppliedIndex"/>).
/// </summary>
internal readonly record struct DiskMeta(long CurrentRevision, long CompactRevision, long SizeBytes, long EntryCount)
{
    private const byte Format = 1;
    private const byte FormatWithWalk = 2;
    private const int FixedBytes = 1 + (4 * sizeof(long)) + sizeof(int);
    private const int AlarmBytes = sizeof(ulong) + sizeof(int);
    private const int WalkBytes = (3 * sizeof(long)) + sizeof(int);

    /// <summary>How far the compactions up to <see cref="CompactRevision"/> are carried out.</summary>
    public CompactionWalk Walk { get; init; } = CompactionWalk.Finished(CompactRevision);

    /// <summary>Whether a compaction still has versions to delete (<see cref="CompactionWalk.PendingBelow"/>).</summary>
    public bool CompactionPending => Walk.PendingBelow(CompactRevision);

    /// <summary>The record's key in the backend's user space.</summary>
    public static readonly byte[] Key = [MvccSpace.Meta, (byte)'s', (byte)'t', (byte)'a', (byte)'t', (byte)'e'];

    /// <summary>An empty store's scalars, as etcd starts: revision 1, never compacted.</summary>
    public static DiskMeta Empty => new(1, -1, 0, 0);

    public byte[] Encode(AlarmSet alarms)
    {
        var pending = CompactionPending;
        var record = new byte[FixedBytes + (alarms.Count * AlarmBytes) + (pending ? WalkBytes : 0)];
        record[0] = pending ? FormatWithWalk : Format;
        var at = 1;
        foreach (var value in new[] { CurrentRevision, CompactRevision, SizeBytes, EntryCount })
        {
            BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(at), value);
            at += sizeof(long);
        }

        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(at), alarms.Count);
        at += sizeof(int);
        foreach (var (memberId, type) in alarms.All)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(at), memberId);
            BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(at + sizeof(ulong)), (int)type);
            at += AlarmBytes;
        }

        if (pending)
        {
            BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(at), Walk.DoneTo);
            BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(at + 8), Walk.Target);
            BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(at + 16), Walk.CursorMain);
            BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(at + 24), Walk.CursorSub);
        }

        return record;
    }

    /// <summary>Reads the record of <paramref name="view"/> (the empty store's when the backend is new).</summary>
    /// <exception cref="BackendFormatException">When the record is not one this version wrote: a corrupt backend, which must stop the member.</exception>
    public static DiskMeta Read(BackendView view, string directory, out AlarmSet alarms)
    {
        alarms = new AlarmSet();
        if (!view.TryGet(Key, out var record))
        {
            return Empty;
        }

        if (record.Length < FixedBytes || (record[0] != Format && record[0] != FormatWithWalk))
        {
            throw Corrupt(view, directory, $"is {record.Length} bytes with format {(record.Length > 0 ? record[0] : -1)}");
        }

        var meta = new DiskMeta(
            BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(1)),
            BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(9)),
            BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(17)),
            BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(25)));
        var count = BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(33));
        var walkBytes = record[0] == FormatWithWalk ? WalkBytes : 0;
        if (count < 0 || count > AlarmSet.MaxAlarms || record.Length != FixedBytes + (count * AlarmBytes) + walkBytes
            || meta.CurrentRevision < 1 || meta.CompactRevision < -1 || meta.CompactRevision > meta.CurrentRevision
            || meta.SizeBytes < 0 || meta.EntryCount < 0)
        {
            throw Corrupt(view, directory, $"holds inconsistent scalars {meta} with {count} alarms in {record.Length} bytes");
        }

        if (walkBytes > 0)
        {
            var at = FixedBytes + (count * AlarmBytes);
            var walk = new CompactionWalk(
                BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(at)),
                BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(at + 8)),
                BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(at + 16)),
                BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(at + 24)));
            var why = walk.Inconsistency(meta.CompactRevision) ?? (walk.PendingBelow(meta.CompactRevision) ? null : "has nothing left to do");
            if (why is not null)
            {
                throw Corrupt(view, directory, $"holds a compaction walk that {why} ({walk})");
            }

            meta = meta with { Walk = walk };
        }

        for (var i = 0; i < count; i++)
        {
            var at = FixedBytes + (i * AlarmBytes);
            var type = (AlarmType)BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(at + sizeof(ulong)));
            if (!AlarmSet.CanRaise(type) || alarms.Activate(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(at)), type) != AlarmSet.Outcome.Raised)
            {
                throw Corrupt(view, directory, $"holds alarm {i} of type {(int)type}, which cannot be raised or is repeated");
            }
        }

        return meta;
    }

    private static BackendFormatException Corrupt(BackendView view, string directory, string what) =>
        new(directory, $"the MVCC state record at applied index {view.AppliedIndex} {what}");
}
