using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace RaftKv.Cli.Bench;

/// <summary>
/// etcdctl's --cacert, --cert and --key for <c>raftkv bench</c>: the server's certificate is checked against the CA
/// file alone, and the client certificate is presented when asked for. Used for https:// endpoints.
/// </summary>
internal static class BenchTls
{
    /// <summary>The client TLS of every channel of this process; null: the system's trust and no client certificate.</summary>
    public static SslClientAuthenticationOptions? Options { get; private set; }

    /// <summary>Loads the files; throws <see cref="FormatException"/> naming the flag when one cannot be used.</summary>
    public static void Configure(string? caFile, string? certFile, string? keyFile)
    {
        if (string.IsNullOrEmpty(caFile) && string.IsNullOrEmpty(certFile)) return;
        if (string.IsNullOrEmpty(certFile) != string.IsNullOrEmpty(keyFile)) throw new FormatException("--cert and --key must be given together");
        var options = new SslClientAuthenticationOptions { CertificateRevocationCheckMode = X509RevocationMode.NoCheck };
        if (!string.IsNullOrEmpty(certFile))
        {
            try
            {
                options.ClientCertificates = [X509Certificate2.CreateFromPemFile(certFile, keyFile)];
            }
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
            {
                throw new FormatException($"--cert '{certFile}' / --key '{keyFile}': {e.Message}");
            }
        }
        if (!string.IsNullOrEmpty(caFile))
        {
            var roots = new X509Certificate2Collection();
            try
            {
                roots.ImportFromPemFile(caFile);
            }
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
            {
                throw new FormatException($"--cacert '{caFile}': {e.Message}");
            }
            options.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is not X509Certificate2 leaf || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(leaf);
            };
        }
        Options = options;
    }
}
