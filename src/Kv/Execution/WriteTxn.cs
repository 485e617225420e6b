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
    private readonly MvccState state;
    private readonly long beginRevision;
    private readonly List<Event>? events;
    private int subRevision;

    public WriteTxn(MvccState state, List<Event>? events)
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
        var history = state.Keys.GetOrAdd(request.Key);
        var live = history.IsLive;
        KeyValue? prevKv = null;
        if (live && (request.PrevKv || events is not null))
        {
            prevKv = history.ToKeyValue(history.Last);
        }

        ByteString value = request.Value;
        long lease = request.Lease;
        long createRevision = Revision;
        long version = 1;
        if (live)
        {
            ref readonly var last = ref history.Last;
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
        state.Append(history, entry);
        events?.Add(new Event { Type = Event.Types.EventType.Put, Kv = history.ToKeyValue(entry), PrevKv = prevKv });

        var response = new PutResponse { Header = new ResponseHeader { Revision = Revision } };
        if (request.PrevKv && prevKv is not null)
        {
            response.PrevKv = prevKv;
        }

        return response;
    }

    public DeleteRangeResponse DeleteRange(DeleteRangeRequest request)
    {
        var range = KeyRange.FromRequest(request.Key, request.RangeEnd);
        var doomed = new List<KeyHistory>();
        if (range.IsSingleKey)
        {
            var history = state.Keys.Find(request.Key.Span);
            if (history is not null && history.IsLive)
            {
                doomed.Add(history);
            }
        }
        else
        {
            // Collect first: tombstones do not change the index, but the cursor must not see our own writes.
            var cursor = state.Keys.Seek(range.Start.Span);
            while (cursor.Next(out var history) && !range.IsPastEnd(history.Key.Span))
            {
                if (history.IsLive)
                {
                    doomed.Add(history);
                }
            }
        }

        var response = new DeleteRangeResponse { Deleted = doomed.Count };
        foreach (var history in doomed)
        {
            KeyValue? prevKv = request.PrevKv || events is not null ? history.ToKeyValue(history.Last) : null;
            if (request.PrevKv)
            {
                response.PrevKvs.Add(prevKv);
            }

            var tombstone = RevisionEntry.Tombstone(Revision, subRevision++);
            state.Append(history, tombstone);
            events?.Add(new Event
            {
                Type = Event.Types.EventType.Delete,
                Kv = new KeyValue { Key = history.Key, ModRevision = Revision },
                PrevKv = prevKv,
            });
        }

        response.Header = new ResponseHeader { Revision = ViewRevision };
        return response;
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
