using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.V3Lockpb;
using RaftKv.Server.Concurrency;

namespace RaftKv.Server.Etcd;

/// <summary>
/// etcd's server-side Lock service (v3lockpb), which runs clientv3/concurrency's Mutex against the store: the owner
/// key is the name, "/" and the lease in hex, put if absent; the owner is the key with the smallest create revision.
/// A waiter waits on this member's change stream for the deletion of the last key before its own, and reads
/// linearizably after each; if its own key vanishes meanwhile (lease expired or revoked) it fails, and if the
/// client gives up (or the wait fails) its key is deleted, as etcd deletes it.
/// </summary>
public sealed class LockService(NodeContext node) : RaftKv.Etcd.Api.V3Lockpb.Lock.LockBase
{
    public override async Task<LockResponse> Lock(LockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var hub = node.Concurrency;
        using var slot = hub.Waiters.Take();
        var cancellationToken = context.CancellationToken;
        var lease = await SessionLease.ResolveAsync(node, hub.Store, request.Lease, cancellationToken).ConfigureAwait(false);
        var prefix = OwnerKeys.Prefix(request.Name);
        var key = OwnerKeys.Own(request.Name, lease);
        // Not cancelled by the client: once proposed, the put may commit, and a key put for a client that has gone must
        // be deleted again, so the outcome is awaited (bounded by the write timeout) before the client's cancellation counts.
        var entered = await hub.Store.TxnAsync(OwnerRequests.Enter(key, Google.Protobuf.ByteString.Empty, lease, alsoFirst: prefix), CancellationToken.None).ConfigureAwait(false);
        if (cancellationToken.IsCancellationRequested)
        {
            if (entered.Succeeded) await ReleaseAsync(hub, key).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
        // Our key's create revision: this revision if just put, the key's own if the lease held it already.
        var ownRevision = entered.Succeeded ? entered.Header.Revision : entered.Responses[0].ResponseRange.Kvs[0].CreateRevision;
        var first = entered.Responses[1].ResponseRange.Kvs;
        if (first.Count == 0 || first[0].CreateRevision == ownRevision) return new LockResponse { Header = entered.Header, Key = key };
        try
        {
            var header = await hub.Waits.WaitAsync(prefix, key, ownRevision, cancellationToken).ConfigureAwait(false);
            return new LockResponse { Header = header, Key = key };
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            await ReleaseAsync(hub, key).ConfigureAwait(false);
            throw;
        }
    }

    public override async Task<UnlockResponse> Unlock(UnlockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var deleted = await node.Concurrency.Store.DeleteAsync(request.Key, context.CancellationToken).ConfigureAwait(false);
        return new UnlockResponse { Header = deleted.Header };
    }

    // etcd unlocks with its server's own context, not the gone client's; bounded here by the write timeout. Best
    // effort: if it fails too, the lease's expiry removes the key.
    private static async Task ReleaseAsync(ConcurrencyHub hub, Google.Protobuf.ByteString key)
    {
        using var timeout = new CancellationTokenSource(KvProposer.RequestTimeout);
        try
        {
            await hub.Store.DeleteAsync(key, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            // the lease's expiry removes the key
        }
    }
}
