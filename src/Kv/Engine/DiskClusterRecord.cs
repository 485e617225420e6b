using RaftKv.Kv.Backend;
using RaftKv.Kv.Backend.Mvcc;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Engine;

/// <summary>
/// The cluster record on disk: one key of the MVCC meta space, beside <see cref="DiskMeta"/>'s, holding the record's
/// bytes as they are; written only by the entry that sets it, in that entry's batch with the applied index, so after
/// a crash the record and the index never disagree. Absent means empty (an empty record deletes the key), so a store
/// that never had one and a store whose record was emptied hold the same bytes. The backend stream carries it like
/// every user-space key.
/// </summary>
internal static class DiskClusterRecord
{
    /// <summary>The record's key in the backend's user space.</summary>
    public static readonly byte[] Key = [MvccSpace.Meta, (byte)'c', (byte)'l', (byte)'u', (byte)'s', (byte)'t', (byte)'e', (byte)'r'];

    /// <summary>The auth record's key: the same rules, its own key.</summary>
    public static readonly byte[] AuthKey = [MvccSpace.Meta, (byte)'a', (byte)'u', (byte)'t', (byte)'h'];

    /// <summary>Puts <paramref name="record"/> into <paramref name="batch"/> (a delete when it is empty).</summary>
    public static void Write(BackendBatch batch, ReadOnlySpan<byte> record, byte[]? key = null)
    {
        if (!ClusterRecordLength.Fits(record.Length))
        {
            throw new InvalidOperationException($"a cluster record of {record.Length} bytes reached the disk writer past the limit check");
        }

        if (record.IsEmpty)
        {
            batch.Delete(key ?? Key);
        }
        else
        {
            batch.Put(key ?? Key, record);
        }
    }

    /// <summary>Reads the record of <paramref name="view"/>; empty when none is stored.</summary>
    /// <exception cref="BackendFormatException">When the stored record is longer than any this version writes: a corrupt backend.</exception>
    public static byte[] Read(BackendView view, string directory, byte[]? key = null)
    {
        if (!view.TryGet(key ?? Key, out var record))
        {
            return [];
        }

        if (!ClusterRecordLength.Fits(record.Length))
        {
            throw new BackendFormatException(
                directory, $"the cluster record at applied index {view.AppliedIndex} is {record.Length} bytes, above the {KvStore.ClusterRecordMaxBytes} allowed");
        }

        return record;
    }
}
