using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace RaftKv.Server.Tls;

/// <summary>
/// The TLS of this member's connections to other members' peer ports (Raft messages, snapshots, membership and the
/// dashboard's peer calls): it presents the peer certificate (--peer-cert-file) as its client certificate and checks
/// the server's against --peer-trusted-ca-file.
/// </summary>
public static partial class PeerTlsClient
{
    /// <summary>Sets <paramref name="handler"/>'s TLS options for peer TLS <paramref name="tls"/>; nothing when it is null (plaintext peers).</summary>
    public static void Configure(SocketsHttpHandler handler, TlsEndpoint? tls, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (tls is null) return;
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = tls.Policy.Protocols,
            CipherSuitesPolicy = tls.Policy.CipherSuitesPolicy,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            LocalCertificateSelectionCallback = (_, _, _, _, _) => tls.Certificate.Current,
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (tls.VerifyServer(certificate, errors, out var problem)) return true;
                if (logger is not null) LogServerRefused(logger, (certificate as X509Certificate2)?.Subject ?? "-", problem ?? errors.ToString());
                return false;
            },
        };
    }

    /// <summary>A handler configured by <see cref="Configure"/>, with a connect timeout.</summary>
    public static SocketsHttpHandler Handler(TlsEndpoint? tls, TimeSpan connectTimeout)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = connectTimeout };
        Configure(handler, tls);
        return handler;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "peer TLS: refused a peer's server certificate ({Subject}): {Problem}")]
    private static partial void LogServerRefused(ILogger logger, string subject, string problem);
}
