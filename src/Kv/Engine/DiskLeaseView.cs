using Google.Protobuf;
using RaftKv.Kv.Backend;
using RaftKv.Kv.Leases;

namespace RaftKv.Kv.Engine;

/// <summary>The lease table of one backend view (<see cref="DiskLeaseKeys"/>): point reads and bounded scans, nothing cached.</summary>
internal sealed class DiskLeaseView(BackendView view) : ILeaseView
{
    public long Count => view.TryGet(DiskLeaseKeys.CountKey, out var value) ? DiskLeaseKeys.DecodeCount(value) : 0;

    public bool TryGetTtl(long id, out long ttlSeconds)
    {
        var found = view.TryGet(DiskLeaseKeys.Record(id), out var record);
        ttlSeconds = found ? DiskLeaseKeys.DecodeRecord(record) : 0;
        return found;
    }

    public IEnumerable<(long Id, long TtlSeconds)> All()
    {
        using var it = view.Iterate(DiskLeaseKeys.RecordSpaceStart, DiskLeaseKeys.RecordSpaceEnd);
        for (; it.Valid; it.Next())
        {
            yield return (DiskLeaseKeys.RecordId(it.Key), DiskLeaseKeys.DecodeRecord(it.Value));
        }
    }

    public IEnumerable<ByteString> Keys(long id)
    {
        using var it = view.Iterate(DiskLeaseKeys.AttachmentsStart(id), DiskLeaseKeys.AttachmentsEnd(id));
        for (; it.Valid; it.Next())
        {
            yield return ByteString.CopyFrom(DiskLeaseKeys.AttachedKey(it.Key));
        }
    }
}
