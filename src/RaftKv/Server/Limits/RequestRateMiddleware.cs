using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RaftKv.Server.Limits;

/// <summary>
/// Spends one request of the connection's <see cref="RequestBudget"/> per HTTP request (a gRPC call, a stream, a
/// gateway or HTTP API request); over budget, the request is answered at once, without reaching any service: gRPC
/// with etcd's ErrTooManyRequests (RESOURCE_EXHAUSTED, "etcdserver: too many requests") as a trailers-only response,
/// anything else with 429 and the gateway's error body. Connections without a budget (the peer port, the gateway's
/// private socket) pass.
/// </summary>
public static class RequestRateMiddleware
{
    private static readonly byte[] TooManyRequestsJson = JsonSerializer.SerializeToUtf8Bytes(
        new Dictionary<string, object> { ["error"] = ClientLimits.TooManyRequests, ["code"] = 8, ["message"] = ClientLimits.TooManyRequests });

    /// <summary>The middleware's step: true when the request may go on, false when it was answered here.</summary>
    public static async ValueTask<bool> AdmitAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<RequestBudget>() is not { } budget || budget.TrySpend()) return true;
        var response = context.Response;
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = "8";
            response.Headers["grpc-message"] = ClientLimits.TooManyRequests; // printable ASCII: no percent-encoding needed
            return false;
        }
        response.StatusCode = StatusCodes.Status429TooManyRequests;
        response.ContentType = "application/json";
        await response.Body.WriteAsync(TooManyRequestsJson, context.RequestAborted).ConfigureAwait(false);
        return false;
    }
}
