using Microsoft.AspNetCore.Http;
using RaftKv.Http.Cluster;

namespace RaftKv.Http;

/// <summary>
/// Which web pages may use this member's HTTP API from a browser. A dashboard loaded from another member may read
/// and act here (it switches members when its own goes down), so members' HTTP origins get CORS headers. Requests
/// that change something (PUT, DELETE, POST) from any other origin are refused, so a random web page cannot write
/// keys or stop a member of a cluster running on the same machine. Requests without an Origin (curl, scripts) pass.
/// </summary>
public sealed class OriginPolicy(ClusterWatcher watcher)
{
    /// <summary>The middleware body.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || IsSameOrigin(context, origin))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var known = watcher.KnownHttpOrigins.Contains(origin.TrimEnd('/'), StringComparer.OrdinalIgnoreCase);
        if (known)
        {
            context.Response.Headers.AccessControlAllowOrigin = origin;
            context.Response.Headers.Vary = "Origin";
        }
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            if (known)
            {
                context.Response.Headers.AccessControlAllowMethods = "GET, PUT, DELETE, POST";
                context.Response.Headers.AccessControlAllowHeaders = "content-type";
                context.Response.Headers.AccessControlMaxAge = "600";
            }
            context.Response.StatusCode = known ? StatusCodes.Status204NoContent : StatusCodes.Status403Forbidden;
            return;
        }
        if (!known && !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            await Api.ApiError.Reply(403, $"requests from {origin} may not change anything here (only pages of this cluster's members may)")
                .ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        await next(context).ConfigureAwait(false);
    }

    private static bool IsSameOrigin(HttpContext context, string origin) =>
        string.Equals(origin.TrimEnd('/'), $"{context.Request.Scheme}://{context.Request.Host}", StringComparison.OrdinalIgnoreCase);
}
