using Google.Protobuf;
using Google.Protobuf.Collections;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;
using OpCase = RaftKv.Etcd.Api.RequestOp.RequestOneofCase;

namespace RaftKv.Kv.Validation;

/// <summary>
/// etcd's rule that a txn writes each key at most once: within one list of operations (nested txns included) no
/// two puts name the same key and no put falls in a deleted range. Overlapping deletes are allowed, and the two
/// branches of a nested txn may put the same key since only one of them runs.
/// </summary>
/// <remarks>
/// One deliberate difference: a delete with range_end "\0" counts as reaching every key after its start here,
/// while etcd's interval check treats it as an empty interval and lets such a put through.
/// </remarks>
internal static class TxnConflictChecker
{
    public static bool HasConflict(RepeatedField<RequestOp> ops) => !Collect(ops, out _, out _);

    // Gathers the keys put and the ranges deleted by a list of operations; false on a conflict.
    private static bool Collect(RepeatedField<RequestOp> ops, out HashSet<ByteString> puts, out List<KeyRange> deletes)
    {
        puts = [];
        deletes = [];
        foreach (var op in ops)
        {
            if (op.RequestCase == OpCase.RequestDeleteRange)
            {
                deletes.Add(KeyRange.FromRequest(op.RequestDeleteRange.Key, op.RequestDeleteRange.RangeEnd));
            }
        }

        foreach (var op in ops)
        {
            if (op.RequestCase != OpCase.RequestTxn)
            {
                continue;
            }

            if (!Collect(op.RequestTxn.Success, out var putsThen, out var deletesThen)
                || !Collect(op.RequestTxn.Failure, out var putsElse, out var deletesElse))
            {
                return false;
            }

            foreach (var key in putsThen)
            {
                if (puts.Contains(key) || Intersects(deletes, key))
                {
                    return false;
                }

                puts.Add(key);
            }

            foreach (var key in putsElse)
            {
                if ((puts.Contains(key) && !putsThen.Contains(key)) || Intersects(deletes, key))
                {
                    return false;
                }

                puts.Add(key);
            }

            deletes.AddRange(deletesThen);
            deletes.AddRange(deletesElse);
        }

        foreach (var op in ops)
        {
            if (op.RequestCase != OpCase.RequestPut)
            {
                continue;
            }

            var key = op.RequestPut.Key;
            if (puts.Contains(key) || Intersects(deletes, key))
            {
                return false;
            }

            puts.Add(key);
        }

        return true;
    }

    private static bool Intersects(List<KeyRange> deletes, ByteString key)
    {
        foreach (var range in deletes)
        {
            if (range.Contains(key.Span))
            {
                return true;
            }
        }

        return false;
    }
}
