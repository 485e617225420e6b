using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.V3Electionpb;
using RaftKv.Server.Concurrency;

namespace RaftKv.Server.Etcd;

/// <summary>
/// etcd's server-side Election service (v3electionpb), which runs clientv3/concurrency's Election against the store:
/// a candidate's key is the name, "/" and its lease in hex, holding the proclaimed value; the leader is the key with
/// the smallest create revision. Campaign waits like Lock; Proclaim and Resign act only while the key still has the
/// create revision the caller was elected with; Observe streams leader changes from this member's change stream.
/// </summary>
public sealed class ElectionService(NodeContext node) : Election.ElectionBase
{
    public override async Task<CampaignResponse> Campaign(CampaignRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var hub = node.Concurrency;
        using var slot = hub.Waiters.Take();
        var cancellationToken = context.CancellationToken;
        var lease = await SessionLease.ResolveAsync(node, hub.Store, request.Lease, cancellationToken).ConfigureAwait(false);
        var prefix = OwnerKeys.Prefix(request.Name);
        var key = OwnerKeys.Own(request.Name, lease);
        // Awaited whatever the client does, as in Lock: a candidacy put for a client that has gone is withdrawn again.
        var entered = await hub.Store.TxnAsync(OwnerRequests.Enter(key, request.Value, lease, alsoFirst: null), CancellationToken.None).ConfigureAwait(false);
        var revision = entered.Header.Revision;
        if (cancellationToken.IsCancellationRequested)
        {
            if (entered.Succeeded) await ResignQuietlyAsync(hub, key, revision).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
        if (!entered.Succeeded)
        {
            // The lease campaigns already: the same candidacy, with the value brought up to date (as clientv3 does).
            var existing = entered.Responses[0].ResponseRange.Kvs[0];
            revision = existing.CreateRevision;
            if (existing.Value != request.Value) await ProclaimOrResignAsync(hub, key, revision, request.Value, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await hub.Waits.WaitAsync(prefix, key, revision, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await ResignQuietlyAsync(hub, key, revision).ConfigureAwait(false); // clientv3 resigns when its context ends
            throw;
        }
        catch (RpcException) when (cancellationToken.IsCancellationRequested)
        {
            await ResignQuietlyAsync(hub, key, revision).ConfigureAwait(false);
            throw;
        }
        // The header is the entering txn's, as etcd's Campaign answers.
        return new CampaignResponse
        {
            Header = entered.Header,
            Leader = new LeaderKey { Name = request.Name, Key = key, Rev = revision, Lease = lease },
        };
    }

    public override async Task<ProclaimResponse> Proclaim(ProclaimRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Leader is null) throw ConcurrencyErrors.MissingLeaderKey();
        var proclaimed = await node.Concurrency.Store.TxnAsync(OwnerRequests.Proclaim(request.Leader.Key, request.Leader.Rev, request.Value), context.CancellationToken).ConfigureAwait(false);
        if (!proclaimed.Succeeded) throw ConcurrencyErrors.NotLeader();
        return new ProclaimResponse { Header = proclaimed.Header };
    }

    public override async Task<LeaderResponse> Leader(LeaderRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var first = await node.Concurrency.Store.RangeAsync(OwnerRequests.First(OwnerKeys.Prefix(request.Name)), context.CancellationToken).ConfigureAwait(false);
        if (first.Kvs.Count == 0) throw ConcurrencyErrors.NoLeader();
        return new LeaderResponse { Header = first.Header, Kv = first.Kvs[0] };
    }

    /// <summary>Bounded by <see cref="ConcurrencyLimits.ObserversMax"/> streams per member; ends when the client goes away.</summary>
    public override async Task Observe(LeaderRequest request, IServerStreamWriter<LeaderResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var hub = node.Concurrency;
        using var slot = hub.ObserveStreams.Take();
        try
        {
            await hub.Observers.RunAsync(request.Name, responseStream, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // the client went away
        }
    }

    public override async Task<ResignResponse> Resign(ResignRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Leader is null) throw ConcurrencyErrors.MissingLeaderKey();
        // Resigning a leadership one does not hold changes nothing and is no error, as in etcd.
        var resigned = await node.Concurrency.Store.TxnAsync(OwnerRequests.Resign(request.Leader.Key, request.Leader.Rev), context.CancellationToken).ConfigureAwait(false);
        return new ResignResponse { Header = resigned.Header };
    }

    private static async Task ProclaimOrResignAsync(ConcurrencyHub hub, ByteString key, long revision, ByteString value, CancellationToken cancellationToken)
    {
        var proclaimed = await hub.Store.TxnAsync(OwnerRequests.Proclaim(key, revision, value), cancellationToken).ConfigureAwait(false);
        if (proclaimed.Succeeded) return;
        await ResignQuietlyAsync(hub, key, revision).ConfigureAwait(false);
        throw ConcurrencyErrors.NotLeader();
    }

    // With the member's own deadline, not the gone client's; best effort: the lease's expiry removes the key anyway.
    private static async Task ResignQuietlyAsync(ConcurrencyHub hub, ByteString key, long revision)
    {
        using var timeout = new CancellationTokenSource(KvProposer.RequestTimeout);
        try
        {
            await hub.Store.TxnAsync(OwnerRequests.Resign(key, revision), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            // the lease's expiry removes the key
        }
    }
}
