using System.Collections.Frozen;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace RaftKv.Http;

/// <summary>The dashboard page, its script and style: embedded in the binary (no CDN; works offline), served from memory.</summary>
public static class DashboardAssets
{
    private const string ResourcePrefix = "RaftKv.Http.Dashboard.";

    private const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' http: https:; base-uri 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, string> Types = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary();

    /// <summary>Maps <c>/</c> to the page and <c>/{file}</c> to each asset.</summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        var assembly = typeof(DashboardAssets).Assembly;
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var file = resource[ResourcePrefix.Length..];
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var type = Types.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream");
            IResult Serve(HttpContext context)
            {
                context.Response.Headers.CacheControl = "no-cache";
                context.Response.Headers.XContentTypeOptions = "nosniff";
                if (file.EndsWith(".html", StringComparison.Ordinal)) context.Response.Headers.ContentSecurityPolicy = Policy;
                return Results.Bytes(bytes, type);
            }
            app.MapGet("/" + file, Serve);
            if (file == "index.html") app.MapGet("/", Serve);
        }
    }
}
