using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RaftKv.Raft.Transport;

namespace RaftKv.Server;

public static partial class RaftKvServer
{
    private static string[] HostPatterns(IEnumerable<Uri> urls) => urls.Select(u => $"*:{u.Port}").Distinct().ToArray();

    private static void MapEndpoints(WebApplication app, ServerSettings settings, NodeContext node)
    {
        app.MapGrpcService<RaftPeerService>().RequireHost(HostPatterns(settings.ListenPeerUrls));
        if (settings.ListenHttpUrls.Count == 0) return;
        var http = HostPatterns(settings.ListenHttpUrls);
        app.MapGet("/health", (HttpContext context) =>
        {
            var reason = node.Unhealthy();
            context.Response.StatusCode = reason is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return Results.Json(new HealthReply(reason is null ? "true" : "false", reason ?? ""), statusCode: context.Response.StatusCode);
        }).RequireHost(http);
        app.MapGet("/v1/status", () => node.Status is { } status ? Results.Json(StatusReply.From(status, node)) : Results.StatusCode(503)).RequireHost(http);
    }

    private sealed record HealthReply(string Health, string Reason);
}
