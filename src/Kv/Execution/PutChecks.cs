using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Execution;

/// <summary>What a put needs from the state before it may run.</summary>
internal static class PutChecks
{
    public static KvError? Check(MvccState state, PutRequest request)
    {
        if ((request.IgnoreValue || request.IgnoreLease) && state.Keys.Find(request.Key.Span)?.IsLive != true)
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

    /// <summary>
    /// Whether a lease is granted. TODO(leases): there is no lease subsystem yet, so every lease id is accepted and
    /// simply stored with the key; once leases are replicated state, look the id up here (etcd answers
    /// "etcdserver: requested lease not found" for an unknown one).
    /// </summary>
    private static bool LeaseExists(long leaseId) => leaseId != 0;
}
