using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Kv.Leases;
using RaftKv.Server.Leases;

namespace RaftKv.Server.Etcd;

/// <summary>
/// etcd's Lease service. Grant and revoke go through the log like writes (forwarded by followers); keep-alive and
/// time-to-live are answered by the leader, which alone keeps the lease clock (<see cref="LeaseGateway"/>); the list
/// of leases is served from this member's store, as etcd 3.4 serves it from its own lessor.
/// </summary>
public sealed class LeaseService(NodeContext node) : Lease.LeaseBase
{
    // A generated id that clashes with a granted lease is drawn again, a few times at most.
    private const int GrantAttemptsMax = 3;

    public override async Task<LeaseGrantResponse> LeaseGrant(LeaseGrantRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.TTL > LeaseLimits.MaxTtlSeconds) throw EtcdErrors.From(KvError.LeaseTtlTooLarge);
        var minimum = LeaseTtl.MinimumSeconds(node.Settings.HeartbeatIntervalMs, node.Settings.ElectionTimeoutMs);
        var ttl = Math.Max(request.TTL, minimum); // etcd's lessor raises a short TTL (0 and negative too) to minLeaseTTL
        for (var attempt = 1; ; attempt++)
        {
            var id = request.ID != 0 ? request.ID : node.LeaseIds.Next();
            var command = new KvCommand { LeaseGrant = new LeaseGrantRequest { ID = id, TTL = ttl } };
            try
            {
                var response = (LeaseGrantResponse)await node.Proposer.ProposeAsync(command, LeaseGrantResponse.Parser, context.CancellationToken).ConfigureAwait(false);
                node.Header(response.Header ??= new ResponseHeader());
                return response;
            }
            catch (RpcException e) when (request.ID == 0 && attempt < GrantAttemptsMax && e.Status.Detail == KvError.LeaseExists.Message)
            {
                // our own id met a granted lease: draw another
            }
        }
    }

    public override async Task<LeaseRevokeResponse> LeaseRevoke(LeaseRevokeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var command = new KvCommand { LeaseRevoke = new LeaseRevokeRequest { ID = request.ID } };
        var response = (LeaseRevokeResponse)await node.Proposer.ProposeAsync(command, LeaseRevokeResponse.Parser, context.CancellationToken).ConfigureAwait(false);
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }

    /// <summary>
    /// One answer per request, in order, each awaited before the next is read: the stream holds at most one request
    /// in hand, whatever the client sends. Streams per member are bounded by <see cref="LeaseGateway.MaxKeepAliveStreams"/>.
    /// </summary>
    public override async Task LeaseKeepAlive(IAsyncStreamReader<LeaseKeepAliveRequest> requestStream, IServerStreamWriter<LeaseKeepAliveResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        if (!node.Leases.TryOpenKeepAliveStream())
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"raftkv: too many lease keep-alive streams (at most {LeaseGateway.MaxKeepAliveStreams})"));
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
            {
                var answer = await node.Leases.KeepAliveAsync(requestStream.Current.ID, context.CancellationToken).ConfigureAwait(false);
                await responseStream.WriteAsync(answer, context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // the client went away
        }
        finally
        {
            node.Leases.CloseKeepAliveStream();
        }
    }

    public override Task<LeaseTimeToLiveResponse> LeaseTimeToLive(LeaseTimeToLiveRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return node.Leases.TimeToLiveAsync(request, context.CancellationToken);
    }

    public override Task<LeaseLeasesResponse> LeaseLeases(LeaseLeasesRequest request, ServerCallContext context)
    {
        var response = new LeaseLeasesResponse { Header = node.Header() };
        foreach (var lease in node.Machine.Store.Leases(LeaseLimits.MaxLeases)) response.Leases.Add(new LeaseStatus { ID = lease.Id });
        return Task.FromResult(response);
    }
}
