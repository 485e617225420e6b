using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv.Execution;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Leases;

/// <summary>
/// Grant and revoke as etcd's lessor applies them, as pure functions of the state and the command: the id and the
/// TTL's minimum were settled by the proposer, so no clock or setting takes part, and every refusal is an error
/// result that changes nothing.
/// </summary>
internal static class LeaseExecutor
{
    /// <summary>
    /// Grants a lease: etcd's checks in its order (id 0 → not found, TTL above the maximum → too large, id taken →
    /// exists), then RaftKv's cluster limit. A TTL below <see cref="LeaseLimits.FloorTtlSeconds"/> is raised to it.
    /// </summary>
    public static KvError? Grant(IMvccState state, LeaseGrantRequest request, out IMessage? response)
    {
        response = null;
        var leases = state.LeaseWrites;
        if (request.ID == 0)
        {
            return KvError.LeaseNotFound; // etcd's lessor: the proposer always picks an id, so 0 here is a bad entry
        }

        if (request.TTL > LeaseLimits.MaxTtlSeconds)
        {
            return KvError.LeaseTtlTooLarge;
        }

        if (leases.TryGetTtl(request.ID, out _))
        {
            return KvError.LeaseExists;
        }

        if (leases.Count >= LeaseLimits.MaxLeases)
        {
            return KvError.TooManyLeases;
        }

        var ttl = Math.Max(request.TTL, LeaseLimits.FloorTtlSeconds);
        leases.Grant(request.ID, ttl);
        response = new LeaseGrantResponse { Header = new ResponseHeader { Revision = state.CurrentRevision }, ID = request.ID, TTL = ttl };
        return null;
    }

    /// <summary>
    /// Revokes a lease: every attached key is deleted in one revision (DELETE events like any delete, so watchers
    /// see them), then the lease goes. A lease without keys changes no revision, as in etcd.
    /// </summary>
    public static KvError? Revoke(IMvccState state, LeaseRevokeRequest request, List<Event>? events, out IMessage? response)
    {
        response = null;
        if (!state.Leases.TryGetTtl(request.ID, out _))
        {
            return KvError.LeaseNotFound;
        }

        // Collected first: each delete detaches its key from the set being walked.
        var doomed = new List<ByteString>(state.Leases.Keys(request.ID));
        var writer = new WriteTxn(state, events);
        foreach (var key in doomed)
        {
            writer.DeleteRange(new DeleteRangeRequest { Key = key });
        }

        state.LeaseWrites.Remove(request.ID);
        response = new LeaseRevokeResponse { Header = new ResponseHeader { Revision = writer.Commit() } };
        return null;
    }
}
