using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;
using SortOrder = RaftKv.Etcd.Api.RangeRequest.Types.SortOrder;
using SortTarget = RaftKv.Etcd.Api.RangeRequest.Types.SortTarget;

namespace RaftKv.Kv.Execution;

/// <summary>
/// Range reads with etcd's semantics: revision checks, then count every visible key in the range, fetch (only
/// limit + 1 keys when the natural key order is asked for and nothing is filtered), filter by mod/create revision,
/// sort, and cut to the limit. count is the number of keys in the range before filters and limit; more says
/// whether the limit cut the (filtered) result. A negative limit means no limit, as in etcd.
/// </summary>
internal static class RangeExecutor
{
    /// <summary>Runs a validated request against the view whose newest revision is <paramref name="viewRevision"/>.</summary>
    public static KvError? Execute(IMvccView state, RangeRequest request, long viewRevision, out RangeResponse? response)
    {
        response = null;
        if (request.Revision > viewRevision)
        {
            return KvError.FutureRevision;
        }

        var revision = request.Revision <= 0 ? viewRevision : request.Revision;
        if (revision < state.CompactRevision)
        {
            return KvError.Compacted;
        }

        var range = KeyRange.FromRequest(request.Key, request.RangeEnd);
        var filtered = HasRevisionFilters(request);
        var fetchLimit = !IsDefaultOrdering(request.SortTarget, request.SortOrder) || filtered ? 0 : request.Limit;
        if (fetchLimit > 0 && fetchLimit < long.MaxValue)
        {
            fetchLimit++; // one extra tells whether there is more
        }

        var selected = new List<KeyVersion>();
        long total = 0;
        if (!range.IsSingleKey && revision == viewRevision && (request.CountOnly || fetchLimit > 0))
        {
            // Newest revision with a bounded fetch: the count comes apart (O(log n) in memory) and the walk stops as
            // soon as the fetch is full, so a small page of a huge range stays cheap.
            total = state.CountLive(range, revision);
            if (!request.CountOnly)
            {
                foreach (var visible in state.Live(range, revision))
                {
                    selected.Add(visible);
                    if (selected.Count >= fetchLimit)
                    {
                        break;
                    }
                }
            }
        }
        else
        {
            foreach (var visible in state.Live(range, revision))
            {
                total++;
                if (!request.CountOnly && (fetchLimit <= 0 || selected.Count < fetchLimit))
                {
                    selected.Add(visible);
                }
            }
        }

        response = new RangeResponse { Header = new ResponseHeader { Revision = viewRevision }, Count = total };
        if (request.CountOnly)
        {
            return null;
        }

        if (filtered)
        {
            selected.RemoveAll(v => !PassesFilters(request, v.Entry));
        }

        Sort(selected, request);
        var take = selected.Count;
        if (request.Limit > 0 && take > request.Limit)
        {
            take = (int)request.Limit;
            response.More = true;
        }

        for (var i = 0; i < take; i++)
        {
            response.Kvs.Add(selected[i].ToKeyValue(request.KeysOnly));
        }

        return null;
    }

    public static bool IsDefaultOrdering(SortTarget target, SortOrder order) =>
        order == SortOrder.None || (target == SortTarget.Key && order == SortOrder.Ascend);

    internal static bool HasRevisionFilters(RangeRequest r) =>
        r.MinModRevision != 0 || r.MaxModRevision != 0 || r.MinCreateRevision != 0 || r.MaxCreateRevision != 0;

    internal static bool PassesFilters(RangeRequest r, in RevisionEntry e) =>
        (r.MaxModRevision == 0 || e.Main <= r.MaxModRevision)
        && (r.MinModRevision == 0 || e.Main >= r.MinModRevision)
        && (r.MaxCreateRevision == 0 || e.CreateRevision <= r.MaxCreateRevision)
        && (r.MinCreateRevision == 0 || e.CreateRevision >= r.MinCreateRevision);

    private static void Sort(List<KeyVersion> selected, RangeRequest request)
    {
        var order = request.SortOrder;
        if (request.SortTarget != SortTarget.Key && order == SortOrder.None)
        {
            // etcd sorts ascending by a non-key target even when no order is given.
            order = SortOrder.Ascend;
        }

        if (IsDefaultOrdering(request.SortTarget, order) || selected.Count < 2)
        {
            return;
        }

        if (request.SortTarget == SortTarget.Key)
        {
            selected.Reverse(); // key order is the natural order; only DESCEND gets here
            return;
        }

        // etcd's sort is not stable, so ties come out in no particular order there; here they stay in key order so
        // every member returns the same bytes.
        var sign = order == SortOrder.Descend ? -1 : 1;
        var target = request.SortTarget;
        var ordered = new (KeyVersion Item, int Position)[selected.Count];
        for (var i = 0; i < ordered.Length; i++)
        {
            ordered[i] = (selected[i], i);
        }

        Array.Sort(ordered, (a, b) =>
        {
            var cmp = sign * CompareBy(target, a.Item.Entry, b.Item.Entry);
            return cmp != 0 ? cmp : a.Position.CompareTo(b.Position);
        });
        for (var i = 0; i < ordered.Length; i++)
        {
            selected[i] = ordered[i].Item;
        }
    }

    private static int CompareBy(SortTarget target, in RevisionEntry a, in RevisionEntry b) => target switch
    {
        SortTarget.Version => a.Version.CompareTo(b.Version),
        SortTarget.Create => a.CreateRevision.CompareTo(b.CreateRevision),
        SortTarget.Mod => a.Main.CompareTo(b.Main),
        SortTarget.Value => Math.Sign(a.Value!.Span.SequenceCompareTo(b.Value!.Span)),
        _ => throw new InvalidOperationException($"sort target {target} passed validation"),
    };
}
