using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Execution;

/// <summary>What a put needs from the state before it may run.</summary>
internal static class PutChecks
{
    public static KvError? Check(IMvccView state, PutRequest request)
    {
        if ((request.IgnoreValue || request.IgnoreLease) && !IsLive(state, request.Key.Span))
        {
            // ignore_value / ignore_lease keep the current value / lease, so there must be one.
            return KvError.KeyNotFound;
        }

        if (request.Lease != 0 && !LeaseExists(request.Lease))
        {
            return KvError.LeaseNotFound;
        }

        return null;
    }

    /// <summary>Whether the key exists now (writes of the transaction in progress included).</summary>
    public static bool IsLive(IMvccView state, ReadOnlySpan<byte> key) =>
        state.TryGetVersion(key, long.MaxValue, out var newest) && !newest.IsTombstone;

    /// <summary>
    /// Whether a lease is granted. TODO(leases): there is no lease subsystem yet, so every lease id is accepted and
    /// simply stored with the key; once leases are replicated state, look the id up here (etcd answers
    /// "etcdserver: requested lease not found" for an unknown one).
    /// </summary>
    private static bool LeaseExists(long leaseId) => leaseId != 0;
}
