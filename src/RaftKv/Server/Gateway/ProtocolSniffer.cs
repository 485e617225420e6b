using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RaftKv.Server.Gateway;

/// <summary>
/// Lets one cleartext listener serve gRPC (HTTP/2 with prior knowledge) and the JSON gateway (HTTP/1.1), as etcd's
/// client port does. Kestrel, given <see cref="HttpProtocols.Http1AndHttp2"/> without TLS, speaks HTTP/1.1 only: with
/// no ALPN it cannot tell the two apart. This connection middleware reads the first bytes without consuming them; a
/// connection that opens with the HTTP/2 client preface is marked as if ALPN had chosen "h2", every other one is left
/// to HTTP/1.1.
/// </summary>
internal static class ProtocolSniffer
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
    private static readonly TimeSpan FirstBytesTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Adds the sniffer; it must run before any middleware that reads the connection's bytes.</summary>
    public static void Use(ListenOptions listen)
    {
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        listen.Use(next => async context =>
        {
            var kind = await SniffAsync(context).ConfigureAwait(false);
            if (kind is null) return; // closed or silent before saying anything
            if (kind == true) MarkHttp2(context);
            await next(context).ConfigureAwait(false);
        });
    }

    /// <summary>Whether the sniffer chose HTTP/2 for this connection.</summary>
    public static bool IsHttp2(ConnectionContext context) => context.Features.Get<Http2Marker>() is not null;

    // true: HTTP/2 preface; false: anything else; null: the peer closed or sent nothing in time.
    private static async ValueTask<bool?> SniffAsync(ConnectionContext context)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.ConnectionClosed);
        timeout.CancelAfter(FirstBytesTimeout);
        var input = context.Transport.Input;
        var head = new byte[Preface.Length];
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            var buffer = result.Buffer;
            var n = (int)Math.Min(buffer.Length, Preface.Length);
            buffer.Slice(0, n).CopyTo(head);
            var samePrefix = head.AsSpan(0, n).SequenceEqual(Preface.AsSpan(0, n));
            if (!samePrefix || n == Preface.Length || result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start); // nothing consumed: Kestrel reads the same bytes again
                if (n == 0 && result.IsCompleted) return null;
                return samePrefix && n == Preface.Length;
            }
            input.AdvanceTo(buffer.Start, buffer.End); // a prefix of the preface so far: wait for more
        }
    }

    private static void MarkHttp2(ConnectionContext context)
    {
        // Kestrel picks HTTP/2 on an Http1AndHttp2 endpoint when a TLS connection feature is present and ALPN said
        // "h2". Neither claims the connection is encrypted to the application: Request.Scheme stays the listener's.
        var alpn = new Http2Marker();
        context.Features.Set<Http2Marker>(alpn);
        context.Features.Set<ITlsApplicationProtocolFeature>(alpn);
        context.Features.Set<ITlsConnectionFeature>(alpn);
    }

    private sealed class Http2Marker : ITlsApplicationProtocolFeature, ITlsConnectionFeature
    {
        private static readonly byte[] H2 = "h2"u8.ToArray();

        public ReadOnlyMemory<byte> ApplicationProtocol => H2;

        public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; set; }

        public Task<System.Security.Cryptography.X509Certificates.X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) =>
            Task.FromResult<System.Security.Cryptography.X509Certificates.X509Certificate2?>(null);
    }
}
