using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace RaftKv.Server.Tls;

/// <summary>
/// The TLS of one side of a member, client or peer: the certificate it presents (as a server, and as a client to
/// other members on the peer side), the CAs it trusts, and whether connecting clients must present a certificate
/// those CAs signed.
/// </summary>
public sealed record TlsEndpoint
{
    /// <summary>"client" or "peer", for messages.</summary>
    public required string Side { get; init; }

    /// <summary>The certificate presented; reloaded from disk when its files change.</summary>
    public required ReloadingCertificate Certificate { get; init; }

    /// <summary>The CAs whose certificates are trusted; null: none given (with auto TLS, a peer's server certificate is not checked, as in etcd).</summary>
    public TrustedCa? TrustedCa { get; init; }

    /// <summary>Whether a connecting client must present a certificate that <see cref="TrustedCa"/> signed (--client-cert-auth, --peer-client-cert-auth).</summary>
    public bool ClientCertAuth { get; init; }

    /// <summary>Whether the certificate was made at start (--auto-tls, --peer-auto-tls).</summary>
    public bool IsAuto { get; init; }

    /// <summary>Versions and suites.</summary>
    public TlsPolicy Policy { get; init; } = TlsPolicy.Default;

    /// <summary>
    /// The only common name a connecting client's certificate may carry, besides being signed by <see cref="TrustedCa"/>
    /// (etcd's --peer-cert-allowed-cn); null: any. On the peer side this narrows who may speak for a member from
    /// "anything the CA signed" to the members' own certificates.
    /// </summary>
    public string? AllowedCn { get; init; }

    /// <summary>Checks a connecting client's certificate: signed by <see cref="TrustedCa"/>, and with <see cref="AllowedCn"/> when one is set.</summary>
    public bool VerifyClient(X509Certificate2 certificate, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (TrustedCa is null)
        {
            problem = "no trusted CA is configured";
            return false;
        }
        if (!TrustedCa.Verifies(certificate, out problem)) return false;
        var name = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (AllowedCn is not null && !string.Equals(name, AllowedCn, StringComparison.Ordinal))
        {
            problem = $"its common name '{name}' is not the allowed '{AllowedCn}' (--{(Side == "peer" ? "peer-" : "")}cert-allowed-cn)";
            return false;
        }
        problem = null;
        return true;
    }

    /// <summary>
    /// The endpoint the flags describe, or null when they ask for no TLS. <paramref name="flagPrefix"/> is "" for the
    /// client side, "peer-" for the peer side. Throws <see cref="FormatException"/> naming the flag (and the file).
    /// </summary>
    public static TlsEndpoint? FromFlags(string flagPrefix, string? certFile, string? keyFile, string? trustedCaFile, bool clientCertAuth, bool autoTls,
        TlsPolicy policy, bool anyHttpsUrl)
    {
        var side = flagPrefix.Length == 0 ? "client" : "peer";
        string Flag(string name) => $"--{flagPrefix}{name}";
        var hasCert = !string.IsNullOrEmpty(certFile);
        if (hasCert != !string.IsNullOrEmpty(keyFile))
            throw new FormatException($"{Flag("cert-file")} and {Flag("key-file")} must be given together");
        var ca = string.IsNullOrEmpty(trustedCaFile) ? null : TrustedCa.FromFile(trustedCaFile, Flag("trusted-ca-file"));
        if (clientCertAuth && ca is null)
            throw new FormatException($"{Flag("client-cert-auth")} needs {Flag("trusted-ca-file")}: the CA that signs the certificates to accept");
        ReloadingCertificate certificate;
        if (hasCert) certificate = ReloadingCertificate.FromFiles(certFile!, keyFile!, Flag("cert-file"), Flag("key-file"));
        else if (autoTls) certificate = ReloadingCertificate.Fixed(CertificateFactory.CreateLoopbackLeaf($"raftkv {side} auto-tls", issuer: null));
        else if (anyHttpsUrl) throw new FormatException($"https:// {side} URLs need {Flag("cert-file")} and {Flag("key-file")}, or {Flag("auto-tls")}");
        else if (ca is not null || clientCertAuth) throw new FormatException($"{Flag("trusted-ca-file")} is given but no {Flag("cert-file")}/{Flag("key-file")} or {Flag("auto-tls")}");
        else return null;
        if (!anyHttpsUrl)
            throw new FormatException($"{side} TLS flags are given but no {side} URL is https:// (as etcd, TLS is chosen per URL by its scheme)");
        return new TlsEndpoint { Side = side, Certificate = certificate, TrustedCa = ca, ClientCertAuth = clientCertAuth, IsAuto = !hasCert, Policy = policy };
    }

    /// <summary>
    /// Checks a server's certificate as a client of this side: against <see cref="TrustedCa"/> and the name asked for;
    /// anything goes with auto TLS and no CA (etcd's --peer-auto-tls does the same). Used by the peer clients.
    /// </summary>
    public bool VerifyServer(X509Certificate? certificate, SslPolicyErrors errors, out string? problem)
    {
        problem = null;
        if (TrustedCa is null) return IsAuto || errors == SslPolicyErrors.None;
        if (certificate is null)
        {
            problem = "the server sent no certificate";
            return false;
        }
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            problem = "the server's certificate does not name the host connected to";
            return false;
        }
        if (certificate is X509Certificate2 leaf) return TrustedCa.Verifies(leaf, out problem);
        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return TrustedCa.Verifies(copy, out problem);
    }
}
