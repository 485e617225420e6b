using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Kv;

namespace RaftKv.Server.Concurrency;

/// <summary>
/// The lease a Lock or Campaign contends with. etcd's services open a clientv3 session with the request's lease; a
/// request without one (lease 0) gets a fresh lease of <see cref="ConcurrencyLimits.SessionTtlSeconds"/>, which
/// nobody keeps alive, so such a lock or leadership ends by itself after a minute, as on etcd.
/// </summary>
public static class SessionLease
{
    // A generated id that clashes with a granted lease is drawn again, a few times at most (as LeaseService does).
    private const int GrantAttemptsMax = 3;

    /// <summary><paramref name="lease"/> itself, or a new lease when it is 0.</summary>
    public static async Task<long> ResolveAsync(NodeContext node, OwnerStore store, long lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(store);
        if (lease != 0) return lease;
        for (var attempt = 1; ; attempt++)
        {
            var grant = new LeaseGrantRequest { ID = node.LeaseIds.Next(), TTL = ConcurrencyLimits.SessionTtlSeconds };
            try
            {
                return (await store.GrantAsync(grant, cancellationToken).ConfigureAwait(false)).ID;
            }
            catch (RpcException e) when (attempt < GrantAttemptsMax && e.Status.Detail == KvError.LeaseExists.Message)
            {
                // our own id met a granted lease: draw another
            }
        }
    }
}
