using Google.Protobuf;
using RaftKv.Kv.Backend;
using RaftKv.Kv.Leases;

namespace RaftKv.Kv.Engine;

/// <summary>The lease table of one backend view (<see cref="DiskLeaseKeys"/>): point reads and bounded scans, nothing cached.</summary>
internal sealed class DiskLeaseView(BackendView view) : ILeaseView
{
    public long Count => view.TryGet(DiskLeaseKeys.CountKey, out var value) ? DiskLeaseKeys.DecodeCount(value) : 0;

    public bool TryGet(long id, out LeaseEntry lease)
    {
        if (!view.TryGet(DiskLeaseKeys.Record(id), out var record))
        {
            lease = default;
            return false;
        }

        var (ttl, remaining) = DiskLeaseKeys.DecodeRecord(record);
        lease = new LeaseEntry(id, ttl, remaining);
        return true;
    }

    public IEnumerable<LeaseEntry> All()
    {
        using var it = view.Iterate(DiskLeaseKeys.RecordSpaceStart, DiskLeaseKeys.RecordSpaceEnd);
        for (; it.Valid; it.Next())
        {
            var (ttl, remaining) = DiskLeaseKeys.DecodeRecord(it.Value);
            yield return new LeaseEntry(DiskLeaseKeys.RecordId(it.Key), ttl, remaining);
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
