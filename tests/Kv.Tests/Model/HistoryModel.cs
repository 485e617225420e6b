using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using CompareResult = RaftKv.Etcd.Api.Compare.Types.CompareResult;
using CompareTarget = RaftKv.Etcd.Api.Compare.Types.CompareTarget;
using OpCase = RaftKv.Etcd.Api.RequestOp.RequestOneofCase;

namespace RaftKv.Kv.Tests.Model;

/// <summary>
/// The obviously-correct model: the full list of changes ever made, never compacted. Every answer is recomputed
/// from that list, so it shares no data structure or shortcut with the store it checks.
/// </summary>
internal sealed class HistoryModel
{
    private readonly List<Change> changes = [];

    public long CurrentRevision { get; private set; } = 1;

    public long CompactRevision { get; private set; } = -1;

    /// <summary>The key's version visible at a revision, derived by replaying its changes.</summary>
    public KeyValue? Visible(ByteString key, long revision)
    {
        KeyValue? state = null;
        foreach (var change in changes)
        {
            if (change.Revision > revision)
            {
                break;
            }

            if (change.Key != key)
            {
                continue;
            }

            state = change.Value is null ? null : new KeyValue
            {
                Key = key,
                Value = change.Value,
                Lease = change.Lease,
                ModRevision = change.Revision,
                CreateRevision = state?.CreateRevision ?? change.Revision,
                Version = (state?.Version ?? 0) + 1,
            };
        }

        return state;
    }

    public IEnumerable<ByteString> KeysEver => changes.Select(c => c.Key).Distinct();

    /// <summary>Visible versions in [start, end) at a revision, in byte order (end null = single key).</summary>
    public List<KeyValue> RangeAt(ByteString start, ByteString? end, bool single, long revision)
    {
        return KeysEver
            .Where(k => single ? k == start : k.Span.SequenceCompareTo(start.Span) >= 0 && (end is null || k.Span.SequenceCompareTo(end.Span) < 0))
            .Select(k => Visible(k, revision))
            .OfType<KeyValue>()
            .OrderBy(kv => kv.Key.ToByteArray(), Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))
            .ToList();
    }

    public KvError? Range(RangeRequest request, out RangeResponse? response)
    {
        response = null;
        if (request.Revision > CurrentRevision)
        {
            return KvError.FutureRevision;
        }

        var revision = request.Revision <= 0 ? CurrentRevision : request.Revision;
        if (revision < CompactRevision)
        {
            return KvError.Compacted;
        }

        var (end, single) = Bounds(request.Key, request.RangeEnd);
        var kvs = RangeAt(request.Key, end, single, revision);
        response = new RangeResponse { Header = new ResponseHeader { Revision = CurrentRevision }, Count = kvs.Count };
        if (request.CountOnly)
        {
            return null;
        }

        if (request.SortOrder == RangeRequest.Types.SortOrder.Descend)
        {
            kvs.Reverse();
        }

        if (request.Limit > 0 && kvs.Count > request.Limit)
        {
            kvs = kvs.Take((int)request.Limit).ToList();
            response.More = true;
        }

        response.Kvs.AddRange(kvs.Select(kv => request.KeysOnly ? new KeyValue(kv) { Value = ByteString.Empty } : kv));
        return null;
    }

    public static (ByteString? End, bool Single) Bounds(ByteString key, ByteString rangeEnd)
    {
        if (rangeEnd.IsEmpty)
        {
            return (null, true);
        }

        return rangeEnd.Length == 1 && rangeEnd[0] == 0 ? (null, false) : (rangeEnd, false);
    }

    public bool Compare(Compare compare)
    {
        var (end, single) = Bounds(compare.Key, compare.RangeEnd);
        var kvs = RangeAt(compare.Key, end, single, CurrentRevision);
        if (kvs.Count == 0)
        {
            if (compare.Target == CompareTarget.Value)
            {
                return false;
            }

            kvs.Add(new KeyValue());
        }

        return kvs.All(kv =>
        {
            var sign = compare.Target switch
            {
                CompareTarget.Value => Math.Sign(kv.Value.Span.SequenceCompareTo(compare.Value.Span)),
                CompareTarget.Version => kv.Version.CompareTo(compare.Version),
                CompareTarget.Create => kv.CreateRevision.CompareTo(compare.CreateRevision),
                CompareTarget.Mod => kv.ModRevision.CompareTo(compare.ModRevision),
                _ => kv.Lease.CompareTo(compare.Lease),
            };
            return compare.Result switch
            {
                CompareResult.Equal => sign == 0,
                CompareResult.NotEqual => sign != 0,
                CompareResult.Greater => sign > 0,
                _ => sign < 0,
            };
        });
    }

    /// <summary>Applies a txn whose writes touch distinct keys; returns (succeeded per txn in order, wrote anything).</summary>
    public (bool Succeeded, bool Wrote) Txn(TxnRequest txn)
    {
        // Every guard is decided against the state before the txn, as etcd does.
        var decisions = new Dictionary<TxnRequest, bool>(ReferenceEqualityComparer.Instance);
        Decide(txn, decisions);
        var revision = CurrentRevision + 1;
        var sub = 0;
        Run(txn, decisions, revision, ref sub);
        if (sub > 0)
        {
            CurrentRevision = revision;
        }

        return (decisions[txn], sub > 0);
    }

    public void Put(ByteString key, ByteString value, long lease)
    {
        CurrentRevision++;
        changes.Add(new Change(CurrentRevision, 0, key, value, lease));
    }

    public long Delete(ByteString key, ByteString rangeEnd)
    {
        var (end, single) = Bounds(key, rangeEnd);
        var doomed = RangeAt(key, end, single, CurrentRevision);
        if (doomed.Count == 0)
        {
            return 0;
        }

        CurrentRevision++;
        var sub = 0;
        foreach (var kv in doomed)
        {
            changes.Add(new Change(CurrentRevision, sub++, kv.Key, null, 0));
        }

        return doomed.Count;
    }

    public KvError? Compact(long revision)
    {
        if (revision <= CompactRevision)
        {
            return KvError.Compacted;
        }

        if (revision > CurrentRevision)
        {
            return KvError.FutureRevision;
        }

        CompactRevision = revision;
        return null;
    }

    private void Decide(TxnRequest txn, Dictionary<TxnRequest, bool> decisions)
    {
        var ok = txn.Compare.All(Compare);
        decisions[txn] = ok;
        foreach (var op in ok ? txn.Success : txn.Failure)
        {
            if (op.RequestCase == OpCase.RequestTxn)
            {
                Decide(op.RequestTxn, decisions);
            }
        }
    }

    private void Run(TxnRequest txn, Dictionary<TxnRequest, bool> decisions, long revision, ref int sub)
    {
        foreach (var op in decisions[txn] ? txn.Success : txn.Failure)
        {
            switch (op.RequestCase)
            {
                case OpCase.RequestPut:
                    var put = op.RequestPut;
                    var current = Visible(put.Key, revision);
                    changes.Add(new Change(revision, sub++, put.Key, put.IgnoreValue ? current!.Value : put.Value, put.Lease));
                    break;
                case OpCase.RequestDeleteRange:
                    var (end, single) = Bounds(op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd);
                    foreach (var kv in RangeAt(op.RequestDeleteRange.Key, end, single, revision))
                    {
                        changes.Add(new Change(revision, sub++, kv.Key, null, 0));
                    }

                    break;
                case OpCase.RequestTxn:
                    Run(op.RequestTxn, decisions, revision, ref sub);
                    break;
            }
        }
    }

    private sealed record Change(long Revision, int Sub, ByteString Key, ByteString? Value, long Lease);
}
