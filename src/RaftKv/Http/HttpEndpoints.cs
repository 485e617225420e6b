using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RaftKv.Http.Api;
using RaftKv.Http.Cluster;
using RaftKv.Http.Faults;
using RaftKv.Http.Metrics;
using RaftKv.Http.Observe;
using RaftKv.Server;

namespace RaftKv.Http;

/// <summary>
/// The HTTP side of a member (<c>--listen-http-urls</c>): the dashboard at <c>/</c>, the JSON API under
/// <c>/v1</c>, Prometheus metrics at <c>/metrics</c>; and, on the peer port, what members ask each other for the
/// dashboard. <c>/health</c> and <c>/v1/status</c> are mapped by the server itself.
/// </summary>
public static class HttpEndpoints
{
    /// <summary>The server-sent events stream of cluster snapshots.</summary>
    public const string EventsPath = "/v1/events";

    private static IResult NotFound(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var method = context.Request.Method;
        if (path.StartsWith(KvApi.Prefix + "/", StringComparison.Ordinal) || path == KvApi.Prefix)
            return ApiError.Reply(405, $"{method} is not allowed on {KvApi.Prefix}/{{key}}: use GET, PUT or DELETE");
        if (path.StartsWith("/v1/fault/", StringComparison.Ordinal))
            return ApiError.Reply(405, $"{method} is not allowed on /v1/fault/{{action}}: use POST");
        return ApiError.Reply(404, $"no such endpoint: {method} {path} (see /v1/status, /version, /v1/members, /v1/kv/{{key}}, /v1/cluster, /v1/events, /metrics)");
    }

    /// <summary>etcd's <c>GET /version</c> body: the versions clients' feature detection reads.</summary>
    private sealed record VersionReply(
        [property: System.Text.Json.Serialization.JsonPropertyName("etcdserver")] string Server,
        [property: System.Text.Json.Serialization.JsonPropertyName("etcdcluster")] string Cluster);

    /// <summary>Maps everything; call before the Raft host starts so the dashboard sees its first election.</summary>
    public static void Map(WebApplication app, NodeContext node)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(node);
        var partition = app.Services.GetRequiredService<PartitionState>(); // registered by HttpServices.Add
        var stopping = app.Lifetime.ApplicationStopping;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("raftkv.http");

        var observer = new NodeObserver(node);
        ClusterWatcher? watcher = null;
        var metrics = new RaftKvMetrics(node, observer, () => watcher?.Subscribers ?? 0, app.Services.GetService<Server.Limits.ConnectionGate>());
        var prober = new PeerProber(node, metrics);
        var peers = new PeerClient(node.Settings.PeerTls);
        var local = new LocalView(node, observer, partition, prober);
        watcher = new ClusterWatcher(local, peers, observer);
        var faults = new FaultInjector(node, partition, peers, watcher, app.Lifetime, logger);

        var timing = new RequestTiming(metrics, observer);
        var origins = new OriginPolicy(watcher);
        app.Use(timing.InvokeAsync);
        app.Use(origins.InvokeAsync);
        app.Use(new HttpBasicAuth(node).InvokeAsync); // auth on: root's Basic credentials, probes aside

        DashboardAssets.Map(app);
        KvApi.Map(app, node);
        ClusterApi.Map(app, watcher, faults);
        PeerApi.Map(app, local, faults);
        app.MapGet("/metrics", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        });
        app.MapGet("/version", () => Results.Json(new VersionReply(EtcdVersion.Server, EtcdVersion.Cluster)));
        app.MapFallback("/v1/{**rest}", (HttpContext context) => NotFound(context));

        var background = Task.WhenAll(
            Task.Run(() => watcher.RunAsync(stopping), CancellationToken.None),
            Task.Run(() => prober.RunAsync(stopping), CancellationToken.None));
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            background.Wait(TimeSpan.FromSeconds(2));
            peers.Dispose();
        });
    }
}
