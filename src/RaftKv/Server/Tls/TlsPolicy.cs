using System.Net.Security;
using System.Security.Authentication;

namespace RaftKv.Server.Tls;

/// <summary>
/// The TLS versions and cipher suites of every TLS listener and peer client of a member (etcd's --tls-min-version,
/// --tls-max-version and --cipher-suites apply to client and peer traffic alike).
/// </summary>
public sealed record TlsPolicy
{
    /// <summary>TLS 1.2 and 1.3, the suites OpenSSL offers by default.</summary>
    public static TlsPolicy Default { get; } = new();

    /// <summary>The protocol versions allowed, from --tls-min-version to --tls-max-version.</summary>
    public SslProtocols Protocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>The suites allowed (TLS 1.3's always included, as in etcd); empty: OpenSSL's defaults.</summary>
    public IReadOnlyList<TlsCipherSuite> CipherSuites { get; init; } = [];

    /// <summary>The suites as .NET applies them (Linux and macOS; Windows takes them from the system); null for the defaults.</summary>
    public CipherSuitesPolicy? CipherSuitesPolicy => CipherSuites.Count == 0 || OperatingSystem.IsWindows() ? null : new CipherSuitesPolicy(CipherSuites);

    /// <summary>
    /// The policy the flags ask for; throws <see cref="FormatException"/> naming the flag. Versions are etcd's names,
    /// TLS1.2 and TLS1.3 (empty: no bound); suites are etcd's (Go's) names, comma-separated.
    /// </summary>
    public static TlsPolicy Parse(string? minVersion, string? maxVersion, string? cipherSuites)
    {
        var min = ParseVersion(minVersion, "--tls-min-version") ?? SslProtocols.Tls12;
        var max = ParseVersion(maxVersion, "--tls-max-version") ?? SslProtocols.Tls13;
        if (min > max) throw new FormatException($"--tls-min-version ({minVersion}) is above --tls-max-version ({maxVersion})");
        var protocols = min == max ? min : SslProtocols.Tls12 | SslProtocols.Tls13;
        var suites = CipherSuiteNames.Parse(cipherSuites ?? "");
        if (suites.Count > 0 && max == SslProtocols.Tls13 && min == SslProtocols.Tls13)
            throw new FormatException("--cipher-suites applies to TLS 1.2 only (as in etcd), but --tls-min-version is TLS1.3");
        return new TlsPolicy { Protocols = protocols, CipherSuites = suites.Count == 0 ? [] : [.. suites, .. CipherSuiteNames.Tls13Suites] };
    }

    private static SslProtocols? ParseVersion(string? text, string flag) => text switch
    {
        null or "" => null,
        "TLS1.2" => SslProtocols.Tls12,
        "TLS1.3" => SslProtocols.Tls13,
        "TLS1.0" or "TLS1.1" => throw new FormatException($"{flag}: {text} is not supported (insecure; raftkv offers TLS1.2 and TLS1.3)"),
        _ => throw new FormatException($"{flag} must be TLS1.2 or TLS1.3, was '{text}'"),
    };
}
