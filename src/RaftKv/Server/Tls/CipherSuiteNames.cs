using System.Net.Security;

namespace RaftKv.Server.Tls;

/// <summary>
/// etcd's --cipher-suites names (Go's crypto/tls constants) mapped to .NET's <see cref="TlsCipherSuite"/>. Go's names
/// are IANA's except for ChaCha20, which Go spells without the _SHA256 suffix; both spellings are accepted.
/// </summary>
public static class CipherSuiteNames
{
    /// <summary>TLS 1.3's suites: not configurable in etcd (Go), so always allowed beside the TLS 1.2 ones asked for.</summary>
    public static IReadOnlyList<TlsCipherSuite> Tls13Suites { get; } =
        [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256];

    private static readonly Dictionary<string, TlsCipherSuite> Supported = new(StringComparer.Ordinal)
    {
        ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        ["TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        ["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"] = TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"] = TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
        ["TLS_RSA_WITH_AES_128_GCM_SHA256"] = TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256,
        ["TLS_RSA_WITH_AES_256_GCM_SHA384"] = TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384,
        ["TLS_RSA_WITH_AES_128_CBC_SHA"] = TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
        ["TLS_RSA_WITH_AES_256_CBC_SHA"] = TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
        ["TLS_RSA_WITH_AES_128_CBC_SHA256"] = TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256,
    };

    // etcd accepts these; OpenSSL 3 as Debian builds it does not offer them (RC4 and 3DES are broken).
    private static readonly HashSet<string> Refused = new(StringComparer.Ordinal)
    {
        "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    };

    /// <summary>The suites of a comma-separated list, in order; throws <see cref="FormatException"/> naming a bad one.</summary>
    public static IReadOnlyList<TlsCipherSuite> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var suites = new List<TlsCipherSuite>();
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Supported.TryGetValue(name, out var suite))
            {
                if (!suites.Contains(suite)) suites.Add(suite);
            }
            else if (Refused.Contains(name))
            {
                throw new FormatException($"--cipher-suites: {name} is not supported by raftkv (RC4 and 3DES are insecure and not offered by OpenSSL 3)");
            }
            else if (Tls13Suites.Any(s => s.ToString() == name))
            {
                throw new FormatException($"--cipher-suites: {name} is a TLS 1.3 suite, always enabled and not configurable (as in etcd)");
            }
            else
            {
                throw new FormatException($"--cipher-suites: unknown cipher suite '{name}'; supported: {string.Join(", ", Supported.Keys.Order())}");
            }
        }
        return suites;
    }
}
