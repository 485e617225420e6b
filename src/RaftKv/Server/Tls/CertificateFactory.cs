using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RaftKv.Server.Tls;

/// <summary>
/// Makes certificates with .NET's <see cref="CertificateRequest"/> (no openssl needed): a CA, and leaf certificates it
/// signs for servers, peers and clients. Used by --auto-tls, <c>raftkv cluster --tls</c> and the tests. Keys are
/// ECDSA P-256; certificates carry the names and IP addresses given as subject alternative names.
/// </summary>
public static class CertificateFactory
{
    /// <summary>How long made certificates are valid: a year (they are for local clusters and tests).</summary>
    public static readonly TimeSpan Validity = TimeSpan.FromDays(365);

    /// <summary>A self-signed CA certificate with its private key.</summary>
    public static X509Certificate2 CreateCa(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now + Validity);
    }

    /// <summary>
    /// A certificate for <paramref name="commonName"/>, valid for server and client authentication, naming
    /// <paramref name="dnsNames"/> and <paramref name="addresses"/>; signed by <paramref name="issuer"/>, or self-signed when it is null.
    /// </summary>
    public static X509Certificate2 CreateLeaf(string commonName, X509Certificate2? issuer, IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses,
        DateTimeOffset? notAfter = null)
    {
        ArgumentNullException.ThrowIfNull(dnsNames);
        ArgumentNullException.ThrowIfNull(addresses);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication"), new Oid("1.3.6.1.5.5.7.3.2", "Client Authentication")], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames) san.AddDnsName(name);
        foreach (var address in addresses) san.AddIpAddress(address);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var end = notAfter ?? now + Validity;
        if (issuer is null) return request.CreateSelfSigned(now.AddMinutes(-5), end);
        if (end > issuer.NotAfter) end = issuer.NotAfter;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // a positive serial number
        using var signed = request.Create(issuer, now.AddMinutes(-5), end, serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>A leaf for this machine's loopback: localhost, 127.0.0.1 and ::1.</summary>
    public static X509Certificate2 CreateLoopbackLeaf(string commonName, X509Certificate2? issuer) =>
        CreateLeaf(commonName, issuer, ["localhost"], [IPAddress.Loopback, IPAddress.IPv6Loopback]);

    /// <summary>Writes the certificate as PEM to <paramref name="certPath"/> and, when given, its private key (PKCS#8 PEM, mode 600) to <paramref name="keyPath"/>.</summary>
    public static void WritePem(X509Certificate2 certificate, string certPath, string? keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        File.WriteAllText(certPath, certificate.ExportCertificatePem() + "\n");
        if (keyPath is null) return;
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the certificate has no ECDSA private key");
        var temporary = keyPath + ".tmp";
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(temporary, fileOptions))
        using (var writer = new StreamWriter(file))
        {
            writer.Write(key.ExportPkcs8PrivateKeyPem());
            writer.Write('\n');
        }
        File.Move(temporary, keyPath, overwrite: true);
    }
}
