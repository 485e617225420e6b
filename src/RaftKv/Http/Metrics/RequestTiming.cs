using System.Diagnostics;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using RaftKv.Http.Observe;

namespace RaftKv.Http.Metrics;

/// <summary>
/// Middleware timing every unary request by its endpoint (gRPC method or HTTP route pattern, never the raw path,
/// so label values stay bounded), and telling the observer how client writes went.
/// </summary>
public sealed class RequestTiming(RaftKvMetrics metrics, NodeObserver observer)
{
    private static readonly HashSet<string> GrpcWrites = new(StringComparer.Ordinal)
    {
        "/etcdserverpb.KV/Put", "/etcdserverpb.KV/DeleteRange", "/etcdserverpb.KV/Txn", "/etcdserverpb.KV/Compact",
    };

    /// <summary>The middleware body.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var started = Stopwatch.GetTimestamp();
        await next(context).ConfigureAwait(false);
        var endpoint = context.GetEndpoint();
        string method;
        bool isWrite;
        bool? succeeded; // null: refused as the client's mistake (bad key, bad revision), neither success nor failure
        if (endpoint?.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpc)
        {
            if (grpc.Method.Type != MethodType.Unary) return; // streams live as long as their connection
            method = grpc.Method.FullName;
            isWrite = GrpcWrites.Contains(method);
            succeeded = GrpcStatus(context) switch
            {
                "0" => true,
                "3" or "5" or "9" or "11" => null, // InvalidArgument, NotFound, FailedPrecondition, OutOfRange
                _ => false,
            };
        }
        else if (endpoint is RouteEndpoint route)
        {
            method = route.RoutePattern.RawText ?? "unknown";
            if (method == HttpEndpoints.EventsPath) return;
            isWrite = method.StartsWith("/v1/kv", StringComparison.Ordinal) && (HttpMethods.IsPut(context.Request.Method) || HttpMethods.IsDelete(context.Request.Method));
            succeeded = context.Response.StatusCode switch
            {
                < 400 => true,
                < 500 => null,
                _ => false,
            };
        }
        else
        {
            return; // unmatched paths (404s) are not worth a label
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        metrics.ObserveRequest(method, elapsed);
        if (isWrite && succeeded is { } ok) observer.RecordWrite(elapsed, ok);
    }

    private static string GrpcStatus(HttpContext context)
    {
        // A call failing before it sent anything answers "trailers-only": the status is in the headers.
        var status = context.Response.Headers["grpc-status"].ToString();
        if (status.Length == 0) status = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers["grpc-status"].ToString() ?? "";
        return status;
    }
}
