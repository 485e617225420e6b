using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RaftKv.Http.Cluster;
using RaftKv.Http.Faults;

namespace RaftKv.Http.Api;

/// <summary>
/// The cluster-wide side of the HTTP API: <c>/v1/members</c>, <c>/v1/cluster</c> (one snapshot),
/// <c>/v1/events</c> (snapshots as server-sent events) and <c>POST /v1/fault/{action}?member=NAME&amp;ms=N</c>.
/// </summary>
public static class ClusterApi
{
    private static readonly byte[] EventHead = "event: snapshot\ndata: "u8.ToArray();
    private static readonly byte[] EventTail = "\n\n"u8.ToArray();

    /// <summary>Maps the routes.</summary>
    public static void Map(IEndpointRouteBuilder app, ClusterWatcher watcher, FaultInjector faults)
    {
        app.MapGet("/v1/members", (Func<HttpContext, Task<IResult>>)(async context =>
        {
            var snapshot = await watcher.CurrentAsync(context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new MembersReply(snapshot.ServedBy, snapshot.Leader, snapshot.Term, snapshot.Members.Select(m => new MemberReply(
                m.Name, m.Id, m.PeerUrl, m.View?.ClientUrls ?? [], m.View?.HttpUrls ?? [], m.Reachable, m.Error,
                m.Reachable ? m.View?.Status?.Role ?? "starting" : "unknown", m.Reachable && m.Name == snapshot.Leader, m.Config)).ToArray()));
        }));
        app.MapGet("/v1/cluster", (Func<HttpContext, Task<IResult>>)(async context =>
            Results.Json(await watcher.CurrentAsync(context.RequestAborted).ConfigureAwait(false))));
        app.MapGet(HttpEndpoints.EventsPath, (HttpContext context) => StreamAsync(context, watcher));
        app.MapPost("/v1/fault/{action}", async (HttpContext context, string action) =>
        {
            var query = context.Request.Query;
            var unknown = query.Keys.FirstOrDefault(k => k is not ("member" or "ms"));
            if (unknown is not null) return ApiError.Reply(400, $"unknown query parameter '{unknown}' (allowed: member, ms)");
            int? ms = null;
            if (query.TryGetValue("ms", out var msText))
            {
                if (!int.TryParse(msText, out var parsed)) return ApiError.Reply(400, $"ms must be a number of milliseconds, was '{msText}'");
                ms = parsed;
            }
            return await faults.HandleAsync(action, query["member"].ToString(), ms, context.RequestAborted).ConfigureAwait(false);
        });
    }

    /// <summary>Writes snapshots as server-sent events until the client goes away (or the server stops).</summary>
    private static async Task StreamAsync(HttpContext context, ClusterWatcher watcher)
    {
        if (!watcher.TrySubscribe(out var subscription))
        {
            await ApiError.Reply(503, $"too many dashboards are open on this member (at most {ClusterWatcher.MaxSubscribers})").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        using (subscription)
        {
            var response = context.Response;
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            var token = context.RequestAborted;
            try
            {
                await response.Body.WriteAsync(Encoding.UTF8.GetBytes("retry: 1000\n\n"), token).ConfigureAwait(false);
                await response.Body.FlushAsync(token).ConfigureAwait(false);
                await foreach (var json in subscription.Reader.ReadAllAsync(token).ConfigureAwait(false))
                {
                    await response.Body.WriteAsync(EventHead, token).ConfigureAwait(false);
                    await response.Body.WriteAsync(json, token).ConfigureAwait(false);
                    await response.Body.WriteAsync(EventTail, token).ConfigureAwait(false);
                    await response.Body.FlushAsync(token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                // The dashboard went away.
            }
        }
    }
}

/// <summary><c>GET /v1/members</c>.</summary>
public sealed record MembersReply(string ServedBy, string Leader, ulong Term, IReadOnlyList<MemberReply> Members);

/// <summary>One member in <see cref="MembersReply"/>; URLs are empty when it never answered.</summary>
/// <param name="Role">Its Raft role as it last said (leader, follower, ...), "starting" or "unknown".</param>
/// <param name="Config">Its place in the configuration: "voter" or "learner".</param>
public sealed record MemberReply(string Name, string Id, string PeerUrl, IReadOnlyList<string> ClientUrls, IReadOnlyList<string> HttpUrls,
    bool Reachable, string? Error, string Role, bool IsLeader, string Config);
