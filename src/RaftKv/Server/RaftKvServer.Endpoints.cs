using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RaftKv.Raft.Transport.AspNetCore;

namespace RaftKv.Server;

public static partial class RaftKvServer
{
    private static void MapEndpoints(WebApplication app, ServerSettings settings, NodeContext node, Tls.GatewaySocket gatewaySocket)
    {
        // Each listener serves its own traffic. The match is on the local port, not the Host header: gRPC clients
        // with several endpoints (etcdctl --endpoints=a,b,c) send an authority without the real port.
        var peerPorts = settings.ListenPeerUrls.Select(u => u.Port).ToHashSet();
        var clientPorts = settings.ListenClientUrls.Select(u => u.Port).ToHashSet();
        var httpPorts = settings.ListenHttpUrls.Select(u => u.Port).ToHashSet();
        clientPorts.Add(0); // the gateway's Unix socket has no port: it serves the client API
        app.Use(async (context, next) =>
        {
            if (await Limits.RequestRateMiddleware.AdmitAsync(context).ConfigureAwait(false)) await next(context).ConfigureAwait(false);
        });
        app.Use(async (context, next) =>
        {
            var port = context.Connection.LocalPort;
            var path = context.Request.Path.Value ?? "";
            var allowed = path.StartsWith("/raftkv.peer.", StringComparison.Ordinal) ? peerPorts.Contains(port)
                : IsClientApi(path) || Gateway.GatewayRoutes.Normalize(path) is not null ? clientPorts.Contains(port)
                : IsProbe(path) ? clientPorts.Contains(port) || httpPorts.Contains(port)
                : httpPorts.Contains(port);
            if (!allowed)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            await next(context).ConfigureAwait(false);
        });
        app.UseWebSockets(); // the gateway's streaming calls over a websocket
        var gateway = new Gateway.JsonGateway(settings.ListenClientUrls[0], settings.MaxRequestBytes, gatewaySocket);
        app.Lifetime.ApplicationStopped.Register(gateway.Dispose);
        app.Use(async (context, next) =>
        {
            if (!await gateway.TryHandleAsync(context).ConfigureAwait(false)) await next(context).ConfigureAwait(false);
        });

        app.MapRaft();
        app.MapGrpcService<Forwarding.WriteForwardingService>();
        app.MapGrpcService<Etcd.KvService>();
        app.MapGrpcService<Etcd.MaintenanceService>();
        app.MapGrpcService<Etcd.ClusterService>();
        app.MapGrpcService<Cluster.PeerClusterService>();
        app.MapGrpcService<Etcd.WatchService>();
        app.MapGrpcService<Etcd.LeaseService>();
        app.MapGrpcService<Etcd.LockService>();
        app.MapGrpcService<Etcd.ElectionService>();
        app.MapGrpcService<Etcd.HealthService>();
        app.MapGrpcService<Auth.AuthService>();
        Gateway.HealthEndpoints.Map(app, node);
        app.MapGet("/v1/status", () => node.Status is { } status ? Results.Json(StatusReply.From(status, node)) : Results.StatusCode(503));
        RaftKv.Http.HttpEndpoints.Map(app, node);
    }

    // etcd's client port serves the KV API, the lock and election services and gRPC health beside it.
    private static bool IsClientApi(string path) =>
        path.StartsWith("/etcdserverpb.", StringComparison.Ordinal) || path.StartsWith("/v3lockpb.", StringComparison.Ordinal)
        || path.StartsWith("/v3electionpb.", StringComparison.Ordinal) || path.StartsWith("/grpc.health.v1.", StringComparison.Ordinal);

    // etcd serves its probes and version on the client port; raftkv's HTTP port answers them too.
    private static bool IsProbe(string path) => path is "/health" or "/livez" or "/readyz" or "/version";
}
