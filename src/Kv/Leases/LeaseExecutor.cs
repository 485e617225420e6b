using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv.Execution;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Leases;

/// <summary>
/// Grant, revoke and checkpoint as etcd's lessor applies them, as pure functions of the state and the command: the id and the
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

    /// <summary>
    /// Records each lease's remaining TTL as the leader measured it (etcd's <c>lessor.Checkpoint</c>): the value comes
    /// from the command, never a clock, so every member stores the same. As in etcd, an unknown lease (revoked meanwhile)
    /// is skipped, and a later checkpoint of a lease in the same command wins. A remaining TTL at or below 0, or at or
    /// above the granted TTL, is stored as 0, "none": the countdown then starts from the full TTL, which is what etcd's
    /// <c>RemainingTTL()</c> makes of 0 and negatives; 0 is also what a keep-alive proposes to clear a checkpoint.
    /// Changes no revision.
    /// </summary>
    public static KvError? Checkpoint(IMvccState state, LeaseCheckpointRequest request, out IMessage? response)
    {
        var leases = state.LeaseWrites;
        foreach (var checkpoint in request.Checkpoints)
        {
            if (leases.TryGet(checkpoint.ID, out var lease))
            {
                var remaining = checkpoint.RemainingTTL;
                leases.Checkpoint(checkpoint.ID, remaining > 0 && remaining < lease.TtlSeconds ? remaining : 0);
            }
        }

        response = new LeaseCheckpointResponse { Header = new ResponseHeader { Revision = state.CurrentRevision } };
        return null;
    }
}
