using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace RaftKv.Server.Tls;

/// <summary>
/// TLS on a Kestrel listener from a <see cref="TlsEndpoint"/>: the certificate chosen per handshake from the reloading
/// source, ALPN from the listener's protocols (h2 and http/1.1 on the client port, h2 on the peer port), the
/// policy's versions and suites, and client certificates checked against the trusted CA, so a client without a valid
/// one is refused during the handshake and logged.
/// </summary>
internal static partial class KestrelTls
{
    /// <summary>Adds TLS to <paramref name="listen"/>; call it before any connection middleware that reads plaintext.</summary>
    public static void Use(ListenOptions listen, TlsEndpoint tls, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(tls);
        tls.Certificate.ReloadFailed ??= error => LogReloadFailed(logger, tls.Side, error);
        var failures = new RefusalLog(logger, tls.Side);
        // Before UseHttps, so it wraps the handshake: Kestrel logs a failed one at debug level only, and a peer or
        // client refused for its certificate (or for having none) should be visible to the operator.
        listen.Use(next => async context =>
        {
            await next(context).ConfigureAwait(false);
            if (context.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>() is null) failures.Refused(context.RemoteEndPoint?.ToString() ?? "-", null);
        });
        var options = new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => tls.Certificate.Current,
            SslProtocols = tls.Policy.Protocols,
            ClientCertificateMode = tls.ClientCertAuth ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
            CheckCertificateRevocation = false,
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        };
        if (tls.ClientCertAuth)
        {
            options.ClientCertificateValidation = (certificate, _, _) =>
            {
                if (tls.VerifyClient(certificate, out var problem)) return true;
                failures.Refused($"{certificate.Subject}, issued by {certificate.Issuer}", problem);
                return false;
            };
        }
        var suites = tls.Policy.CipherSuitesPolicy;
        if (suites is not null) options.OnAuthenticate = (_, ssl) => ssl.CipherSuitesPolicy = suites;
        listen.UseHttps(options);
    }

    /// <summary>Logs refused handshakes, at most one line per second (a hostile client cannot flood the log), with the count of those not logged.</summary>
    private sealed class RefusalLog(ILogger logger, string side)
    {
        private readonly LogThrottle _throttle = new();

        public void Refused(string who, string? problem)
        {
            if (!_throttle.TryLog(out var unlogged)) return;
            if (problem is null) LogHandshakeFailed(logger, side, who, unlogged);
            else LogClientRefused(logger, side, who, problem, unlogged);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "{Side} TLS: refused a client certificate ({Subject}): {Problem} ({Unlogged} more refusals since the last line)")]
    private static partial void LogClientRefused(ILogger logger, string side, string subject, string problem, long unlogged);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
        Message = "{Side} TLS: handshake with {Remote} failed (no valid client certificate, an untrusted server certificate on its side, or not TLS) ({Unlogged} more refusals since the last line)")]
    private static partial void LogHandshakeFailed(ILogger logger, string side, string remote, long unlogged);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Side} TLS: the certificate files changed but cannot be loaded; keeping the previous certificate: {Error}")]
    private static partial void LogReloadFailed(ILogger logger, string side, string error);
}
