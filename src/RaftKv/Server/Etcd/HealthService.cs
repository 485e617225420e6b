using Grpc.Core;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace RaftKv.Server.Etcd;

/// <summary>
/// The standard gRPC health service (<c>grpc.health.v1.Health</c>) on the client port, for one service name: "", all
/// of the member's services, the only name etcd registers. SERVING while the member is healthy as <c>/health</c>
/// says (it knows a leader, its loop runs, no alarm is raised: <see cref="NodeContext.Unhealthy"/>), NOT_SERVING
/// otherwise. Another name is unknown: NOT_FOUND from Check, SERVICE_UNKNOWN from Watch, as grpc-go's health server
/// (etcd's) answers.
/// </summary>
/// <remarks>
/// etcd 3.4 to 3.6 set "" to SERVING once at start and change it only around a defragmentation (3.6, opt-in), so
/// etcd keeps answering SERVING without a leader; RaftKv follows the leader, as /health does, so a load balancer
/// stops sending to a member that cannot serve linearizable requests. Watch polls the member's state every
/// <see cref="WatchPollInterval"/> and sends a status when it differs from the last one sent; it ends when the
/// client goes or the member stops (after sending NOT_SERVING).
/// </remarks>
public sealed class HealthService(NodeContext node) : Health.HealthBase
{
    /// <summary>The one service name served: all of the member's services (etcd's <c>allGRPCServices</c>).</summary>
    public const string AllServices = "";

    /// <summary>How often a Watch looks at the member's state: a leader change reaches the watcher within this.</summary>
    public static readonly TimeSpan WatchPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The member's status now, or NOT_FOUND for another service name.</summary>
    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Service != AllServices) throw new RpcException(new Status(StatusCode.NotFound, "unknown service"));
        return Task.FromResult(new HealthCheckResponse { Status = Current() });
    }

    /// <summary>The member's status now, then each change of it, until the client cancels or the member stops.</summary>
    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var cancel = context.CancellationToken;
        if (request.Service != AllServices)
        {
            await responseStream.WriteAsync(new HealthCheckResponse { Status = ServingStatus.ServiceUnknown }, cancel).ConfigureAwait(false);
            await Task.WhenAny(node.Host.Completion, Task.Delay(Timeout.Infinite, cancel)).ConfigureAwait(false);
            return;
        }

        using var timer = new PeriodicTimer(WatchPollInterval);
        ServingStatus? sent = null;
        // Bounded by the client's cancellation and the member's stop; one look at the state per interval.
        while (!cancel.IsCancellationRequested)
        {
            var now = Current();
            if (now != sent)
            {
                await responseStream.WriteAsync(new HealthCheckResponse { Status = now }, cancel).ConfigureAwait(false);
                sent = now;
            }

            if (node.Host.Completion.IsCompleted) return;
            try
            {
                if (!await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false)) return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private ServingStatus Current() => node.Unhealthy() is null ? ServingStatus.Serving : ServingStatus.NotServing;
}
