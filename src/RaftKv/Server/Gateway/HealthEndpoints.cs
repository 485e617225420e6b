using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RaftKv.Server.Gateway;

/// <summary>
/// etcd's probes: <c>/health</c> (JSON, 503 when unhealthy; a linearizable read unless <c>?serializable=true</c>;
/// <c>?exclude=NOSPACE</c> ignores that alarm), and the Kubernetes-style <c>/livez</c> and <c>/readyz</c> (plain
/// text "ok", each check listed with <c>?verbose</c>, one skipped with <c>?exclude=name</c>).
/// </summary>
internal static class HealthEndpoints
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Maps the probes; the caller decides on which listeners they answer.</summary>
    public static void Map(WebApplication app, NodeContext node)
    {
        app.MapGet("/health", (Delegate)((HttpContext context) => HealthAsync(context, node)));
        app.MapGet("/livez", (Delegate)((HttpContext context) => ChecksAsync(context, "livez", LiveChecks(node))));
        app.MapGet("/readyz", (Delegate)((HttpContext context) => ChecksAsync(context, "readyz", ReadyChecks(node))));
    }

    private static async Task<IResult> HealthAsync(HttpContext context, NodeContext node)
    {
        var query = context.Request.Query;
        var excluded = query["exclude"].Where(v => v is not null).Select(v => v!).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var reason = Unhealthy(node, excluded);
        if (reason is null && !string.Equals(query["serializable"], "true", StringComparison.OrdinalIgnoreCase))
            reason = await LinearizableReadAsync(node, context.RequestAborted).ConfigureAwait(false);
        return Results.Json(new HealthReply(reason is null ? "true" : "false", reason ?? ""),
            statusCode: reason is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    // As NodeContext.Unhealthy, but an alarm the caller excluded does not count.
    private static string? Unhealthy(NodeContext node, HashSet<string> excludedAlarms)
    {
        var status = node.Host.Status;
        if (status is null) return "starting";
        if (node.Host.Completion.IsCompleted) return "the raft loop has stopped";
        if (status.Leader == Raft.RaftNode.None) return "RAFT NO LEADER";
        var alarms = node.Machine.Store.Alarms.Select(a => a.Alarm.ToString().ToUpperInvariant()).Where(a => !excludedAlarms.Contains(a)).ToArray();
        return alarms.Length > 0 ? "ALARM " + string.Join(",", alarms) : null;
    }

    private static async Task<string?> LinearizableReadAsync(NodeContext node, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadTimeout);
        try
        {
            await node.Proposer.ReadBarrierAsync(timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is OperationCanceledException or Grpc.Core.RpcException or InvalidOperationException)
        {
            return "RAFT NO LEADER: linearizable read failed: " + (e is OperationCanceledException ? "timed out" : e.Message);
        }
    }

    private static (string Name, Func<CancellationToken, Task<string?>> Check)[] LiveChecks(NodeContext node) =>
    [
        ("serializable_read", _ => Task.FromResult(node.Host.Completion.IsCompleted ? "the raft loop has stopped" : null)),
    ];

    private static (string Name, Func<CancellationToken, Task<string?>> Check)[] ReadyChecks(NodeContext node) =>
    [
        ("data_corruption", _ => Task.FromResult(node.Machine.Store.Alarms.Any(a => a.Alarm == RaftKv.Etcd.Api.AlarmType.Corrupt) ? "CORRUPT alarm" : null)),
        ("serializable_read", _ => Task.FromResult(node.Host.Completion.IsCompleted ? "the raft loop has stopped" : null)),
        ("linearizable_read", ct => LinearizableReadAsync(node, ct)),
    ];

    private static async Task<IResult> ChecksAsync(HttpContext context, string probe, (string Name, Func<CancellationToken, Task<string?>> Check)[] checks)
    {
        var query = context.Request.Query;
        var verbose = query.ContainsKey("verbose");
        var excluded = query["exclude"].Where(v => v is not null).Select(v => v!).ToHashSet(StringComparer.Ordinal);
        var text = new StringBuilder();
        var failed = false;
        foreach (var (name, check) in checks)
        {
            if (excluded.Contains(name))
            {
                text.Append("[+]").Append(name).Append(" excluded: ok\n");
                continue;
            }
            var reason = await check(context.RequestAborted).ConfigureAwait(false);
            failed |= reason is not null;
            text.Append(reason is null ? "[+]" : "[-]").Append(name).Append(reason is null ? " ok\n" : $" failed: {reason}\n");
        }
        var body = failed ? text + $"{probe} check failed\n" : verbose ? text + "ok\n" : "ok\n";
        return Results.Text(body, "text/plain; charset=utf-8", Encoding.UTF8, failed ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }

    private sealed record HealthReply(string Health, string Reason);
}
