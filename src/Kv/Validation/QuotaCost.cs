using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;
using OpCase = RaftKv.Etcd.Api.RequestOp.RequestOneofCase;

namespace RaftKv.Kv.Validation;

/// <summary>
/// Bytes a request may add to the store, as etcd's quota estimates it: each put costs its key, value and a fixed
/// overhead; a txn costs its more expensive branch; a lease grant costs etcd's lease overhead; deletes, revokes, reads and compactions cost nothing (they stay allowed
/// when space runs out). Unlike etcd, puts in nested txns count too.
/// </summary>
internal static class QuotaCost
{
    public static long Of(KvCommand command) => command.RequestCase switch
    {
        KvCommand.RequestOneofCase.Put => Of(command.Put),
        KvCommand.RequestOneofCase.Txn => Of(command.Txn),
        KvCommand.RequestOneofCase.LeaseGrant => LeaseGrantBytes,
        _ => 0,
    };

    /// <summary>etcd's <c>leaseOverhead</c>: what its quota charges a grant, so a full store refuses new leases too.</summary>
    public const long LeaseGrantBytes = 64;

    public static long Of(PutRequest put) => MvccState.EntryCost(put.Key.Length, put.Value.Length);

    public static long Of(TxnRequest txn) => Math.Max(Of(txn.Success), Of(txn.Failure));

    private static long Of(IEnumerable<RequestOp> ops)
    {
        long cost = 0;
        foreach (var op in ops)
        {
            cost += op.RequestCase switch
            {
                OpCase.RequestPut => Of(op.RequestPut),
                OpCase.RequestTxn => Of(op.RequestTxn),
                _ => 0,
            };
        }

        return cost;
    }
}
