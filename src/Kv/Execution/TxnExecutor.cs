using Google.Protobuf.Collections;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;
using OpCase = RaftKv.Etcd.Api.RequestOp.RequestOneofCase;

namespace RaftKv.Kv.Execution;

/// <summary>
/// Transactions as etcd runs them: first decide every branch (nested txns included) against the state before
/// the txn, then check the chosen operations (ignore_value/ignore_lease need the key, leases must exist, range
/// revisions must be readable), and only then run them, so a txn either applies whole or not at all.
/// </summary>
internal static class TxnExecutor
{
    public static TxnPlan Plan(IMvccView state, TxnRequest txn, long revision)
    {
        var succeeded = CompareEvaluator.All(state, txn.Compare, revision);
        var plan = new TxnPlan(succeeded, succeeded ? txn.Success : txn.Failure);
        foreach (var op in plan.Ops)
        {
            if (op.RequestCase == OpCase.RequestTxn)
            {
                plan.Nested.Add(Plan(state, op.RequestTxn, revision));
            }
        }

        return plan;
    }

    /// <summary>Checks the operations the plan will run, puts first then ranges, as etcd does.</summary>
    public static KvError? Check(IMvccView state, TxnPlan plan)
    {
        return CheckPuts(state, plan) ?? CheckRanges(state, plan);
    }

    /// <summary>Whether the plan writes anything (a read-only txn can be served without the log).</summary>
    public static bool Writes(TxnPlan plan)
    {
        var nested = 0;
        foreach (var op in plan.Ops)
        {
            switch (op.RequestCase)
            {
                case OpCase.RequestPut:
                case OpCase.RequestDeleteRange:
                    return true;
                case OpCase.RequestTxn when Writes(plan.Nested[nested++]):
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Runs a checked plan. With a writer, changes go into its revision and reads see them; without one (read-only
    /// txn) reads are at <paramref name="readRevision"/>. The top-level header is left for the caller.
    /// </summary>
    public static TxnResponse Execute(IMvccView state, TxnPlan plan, WriteTxn? writer, long readRevision)
    {
        var response = new TxnResponse { Succeeded = plan.Succeeded, Header = new ResponseHeader() };
        var nested = 0;
        foreach (var op in plan.Ops)
        {
            var result = new ResponseOp();
            switch (op.RequestCase)
            {
                case OpCase.RequestRange:
                    var error = RangeExecutor.Execute(state, op.RequestRange, writer?.ViewRevision ?? readRevision, out var range);
                    if (error is not null)
                    {
                        throw new InvalidOperationException($"a checked txn range failed: {error}");
                    }

                    result.ResponseRange = range;
                    break;
                case OpCase.RequestPut:
                    result.ResponsePut = RequireWriter(writer).Put(op.RequestPut);
                    break;
                case OpCase.RequestDeleteRange:
                    result.ResponseDeleteRange = RequireWriter(writer).DeleteRange(op.RequestDeleteRange);
                    break;
                case OpCase.RequestTxn:
                    result.ResponseTxn = Execute(state, plan.Nested[nested++], writer, readRevision);
                    break;
                default:
                    throw new InvalidOperationException("an empty txn operation passed validation");
            }

            response.Responses.Add(result);
        }

        return response;
    }

    private static WriteTxn RequireWriter(WriteTxn? writer) =>
        writer ?? throw new InvalidOperationException("a read-only txn reached a write");

    private static KvError? CheckPuts(IMvccView state, TxnPlan plan)
    {
        var nested = 0;
        foreach (var op in plan.Ops)
        {
            var error = op.RequestCase switch
            {
                OpCase.RequestPut => PutChecks.Check(state, op.RequestPut),
                OpCase.RequestTxn => CheckPuts(state, plan.Nested[nested++]),
                _ => null,
            };
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private static KvError? CheckRanges(IMvccView state, TxnPlan plan)
    {
        var nested = 0;
        foreach (var op in plan.Ops)
        {
            KvError? error = null;
            if (op.RequestCase == OpCase.RequestRange)
            {
                // etcd's txn check: 0 is "newest"; anything else, negatives included, must lie in [compact, current].
                var revision = op.RequestRange.Revision;
                if (revision > state.CurrentRevision)
                {
                    error = KvError.FutureRevision;
                }
                else if (revision != 0 && revision < state.CompactRevision)
                {
                    error = KvError.Compacted;
                }
            }
            else if (op.RequestCase == OpCase.RequestTxn)
            {
                error = CheckRanges(state, plan.Nested[nested++]);
            }

            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }
}

/// <summary>The branch a txn takes and, for each nested txn in it (in order), that txn's plan.</summary>
internal sealed class TxnPlan(bool succeeded, RepeatedField<RequestOp> ops)
{
    public bool Succeeded { get; } = succeeded;

    public RepeatedField<RequestOp> Ops { get; } = ops;

    public List<TxnPlan> Nested { get; } = [];
}
