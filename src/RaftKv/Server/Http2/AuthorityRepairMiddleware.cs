using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RaftKv.Server.Http2;

/// <summary>
/// A Kestrel connection middleware for the client listeners: it repairs the <c>:authority</c> that etcd's Go clients
/// send for an endpoint given as a URL (etcdctl 3.4 <c>--endpoints=http://127.0.0.1:2379 endpoint status</c> sends
/// <c>:authority: http://127.0.0.1:2379</c>). etcd's grpc-go server ignores the value; Kestrel validates it as a Host
/// header, has no switch to turn that off, and resets the stream with PROTOCOL_ERROR ("Invalid Host header").
/// </summary>
/// <remarks>Runs before Kestrel's HTTP/2 code sees any byte; see <see cref="ClientHeaderRewriter"/> for what it changes.</remarks>
internal static partial class AuthorityRepairMiddleware
{
    private const int LimitFloorBytes = 64 * 1024;

    /// <summary>Adds the middleware to an HTTP/2 listener that serves etcd clients (the peer listener has only raftkv's own client).</summary>
    public static void UseOnClientListener(ListenOptions listen, Uri url)
    {
        ArgumentNullException.ThrowIfNull(listen);
        var settings = listen.ApplicationServices.GetService<ServerSettings>();
        if (settings is null || !settings.ListenClientUrls.Contains(url)) return;
        var logger = listen.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger("RaftKv.Server.Http2") ?? NullLogger.Instance;
        listen.Use(next => context => RunAsync(context, next, listen.KestrelServerOptions.Limits, logger));
    }

    private static async Task RunAsync(ConnectionContext context, ConnectionDelegate next, KestrelServerLimits limits, ILogger logger)
    {
        if (!Gateway.ProtocolSniffer.IsHttp2(context) && !IsTlsHttp2(context))
        {
            await next(context).ConfigureAwait(false); // an HTTP/1.1 gateway client: no HTTP/2 frames to repair
            return;
        }
        var listMaxBytes = (int)Math.Min(int.MaxValue / 8, Math.Max(LimitFloorBytes, 2L * limits.MaxRequestHeadersTotalSize));
        var rewriter = new ClientHeaderRewriter(new ClientHeaderRewriterOptions
        {
            MaxFrameSizeBytes = limits.Http2.MaxFrameSize,
            HeaderTableSizeBytes = limits.Http2.HeaderTableSize,
            HeaderBlockMaxBytes = listMaxBytes,
            HeaderListMaxBytes = listMaxBytes,
            FallbackAuthority = FallbackAuthority(context.LocalEndPoint),
        });
        var original = context.Transport;
        context.Transport = new DuplexPipe(new RewritingPipeReader(original.Input, rewriter), original.Output);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            context.Transport = original;
            if (rewriter.RewrittenFields > 0) LogRewritten(logger, context.ConnectionId, rewriter.RewrittenFields, rewriter.LastRewrite ?? "");
            if (rewriter.StopReason is { } reason) LogStopped(logger, context.ConnectionId, reason, rewriter.IsReencoding);
        }
    }

    // A TLS connection whose ALPN chose h2 (the TLS middleware ran before this one).
    private static bool IsTlsHttp2(ConnectionContext context) =>
        context.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol.Span.SequenceEqual("h2"u8) == true;

    /// <summary>The address the client connected to, as host:port; "localhost" where it has no plain form (a scoped IPv6 address).</summary>
    internal static string FallbackAuthority(EndPoint? local)
    {
        if (local is not IPEndPoint ip) return "localhost";
        var text = ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip.Address}]:{ip.Port}" : $"{ip.Address}:{ip.Port}";
        return AuthorityNormalizer.IsPlainAuthority(Encoding.ASCII.GetBytes(text)) ? text : $"localhost:{ip.Port}";
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "connection {ConnectionId}: repaired {Count} authority field(s) Kestrel would refuse; last: {Rewrite}")]
    private static partial void LogRewritten(ILogger logger, string connectionId, int count, string rewrite);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "connection {ConnectionId}: stopped watching header blocks: {Reason} (re-encoding: {Reencoding})")]
    private static partial void LogStopped(ILogger logger, string connectionId, string reason, bool reencoding);
}
