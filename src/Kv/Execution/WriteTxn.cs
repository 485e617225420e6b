using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Execution;

/// <summary>
/// One write transaction: every change it makes gets revision <see cref="Revision"/> and the next sub-revision;
/// <see cref="Commit"/> makes the revision current when anything changed. Requests must have been checked
/// before: a write here cannot fail.
/// </summary>
internal sealed class WriteTxn
{
    private readonly IMvccState state;
    private readonly long beginRevision;
    private readonly List<Event>? events;
    private int subRevision;

    public WriteTxn(IMvccState state, List<Event>? events)
    {
        this.state = state;
        this.events = events;
        beginRevision = state.CurrentRevision;
    }

    /// <summary>The revision this transaction writes.</summary>
    public long Revision => beginRevision + 1;

    public bool HasChanges => subRevision > 0;

    /// <summary>The newest revision reads inside the transaction see: its own once it has written.</summary>
    public long ViewRevision => HasChanges ? Revision : beginRevision;

    public PutResponse Put(PutRequest request)
    {
        var key = request.Key;
        var live = state.TryGetVersion(key.Span, long.MaxValue, out var last) && !last.IsTombstone;
        KeyValue? prevKv = null;
        if (live && (request.PrevKv || events is not null))
        {
            prevKv = KeyVersion.ToKeyValue(key, last);
        }

        ByteString value = request.Value;
        long lease = request.Lease;
        long createRevision = Revision;
        long version = 1;
        if (live)
        {
            createRevision = last.CreateRevision;
            version = last.Version + 1;
            if (request.IgnoreValue)
            {
                value = last.Value!;
            }

            if (request.IgnoreLease)
            {
                lease = last.Lease;
            }
        }
        else if (request.IgnoreValue || request.IgnoreLease)
        {
            throw new InvalidOperationException("ignore_value/ignore_lease on a missing key reached the write path");
        }

        var entry = new RevisionEntry(Revision, subRevision++, createRevision, version, lease, value);
        state.Append(key, entry);
        MoveLease(key, live ? last.Lease : 0, lease);
        events?.Add(new Event { Type = Event.Types.EventType.Put, Kv = KeyVersion.ToKeyValue(key, entry), PrevKv = prevKv });

        var response = new PutResponse { Header = new ResponseHeader { Revision = Revision } };
        if (request.PrevKv && prevKv is not null)
        {
            response.PrevKv = prevKv;
        }

        return response;
    }

    public DeleteRangeResponse DeleteRange(DeleteRangeRequest request)
    {
        // Collect first: the walk must not see this transaction's own tombstones.
        var doomed = new List<KeyVersion>(state.Live(KeyRange.FromRequest(request.Key, request.RangeEnd), long.MaxValue));
        var response = new DeleteRangeResponse { Deleted = doomed.Count };
        foreach (var victim in doomed)
        {
            KeyValue? prevKv = request.PrevKv || events is not null ? victim.ToKeyValue() : null;
            if (request.PrevKv)
            {
                response.PrevKvs.Add(prevKv);
            }

            state.Append(victim.Key, RevisionEntry.Tombstone(Revision, subRevision++));
            MoveLease(victim.Key, victim.Entry.Lease, 0);
            events?.Add(new Event
            {
                Type = Event.Types.EventType.Delete,
                Kv = new KeyValue { Key = victim.Key, ModRevision = Revision },
                PrevKv = prevKv,
            });
        }

        response.Header = new ResponseHeader { Revision = ViewRevision };
        return response;
    }

    // A key belongs to the lease its newest version names: a put moves it (lease 0 detaches, ignore_lease keeps it),
    // a delete detaches it. A lease id without a lease (stored by a version before leases were replicated) attaches
    // nothing, so revoking never meets a key it did not grant.
    private void MoveLease(ByteString key, long from, long to)
    {
        if (from == to)
        {
            return;
        }

        var leases = state.LeaseWrites;
        if (from != 0)
        {
            leases.Detach(from, key);
        }

        if (to != 0 && leases.TryGetTtl(to, out _))
        {
            leases.Attach(to, key);
        }
    }

    /// <summary>Ends the transaction; returns the store revision after it.</summary>
    public long Commit()
    {
        if (HasChanges)
        {
            state.CommitRevision(Revision);
        }

        return state.CurrentRevision;
    }
}
