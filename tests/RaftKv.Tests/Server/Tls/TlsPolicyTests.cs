using System.Net.Security;
using System.Security.Authentication;
using RaftKv.Server.Tls;

namespace RaftKv.Tests.Server.Tls;

/// <summary>etcd's --tls-min-version, --tls-max-version and --cipher-suites as raftkv reads them, and their errors.</summary>
public sealed class TlsPolicyTests
{
    [Fact]
    public void Defaults_AreTls12And13WithOpenSslsSuites()
    {
        var policy = TlsPolicy.Parse("TLS1.2", "TLS1.3", null);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, policy.Protocols);
        Assert.Empty(policy.CipherSuites);
        Assert.Null(policy.CipherSuitesPolicy);
    }

    [Fact]
    public void OneVersion_WhenMinEqualsMax()
    {
        Assert.Equal(SslProtocols.Tls13, TlsPolicy.Parse("TLS1.3", "TLS1.3", null).Protocols);
        Assert.Equal(SslProtocols.Tls12, TlsPolicy.Parse("TLS1.2", "TLS1.2", null).Protocols);
    }

    [Fact]
    public void EtcdsSuiteNames_MapToDotNets_AndTls13SuitesStayAllowed()
    {
        // Go spells ChaCha20 without IANA's _SHA256; etcd users copy Go's names.
        var policy = TlsPolicy.Parse(null, null, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305");
        Assert.Equal(
            [TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .. CipherSuiteNames.Tls13Suites],
            policy.CipherSuites);
    }

    [Theory]
    [InlineData("TLS1.1", null, null, "--tls-min-version: TLS1.1 is not supported")]
    [InlineData("tls12", null, null, "--tls-min-version must be TLS1.2 or TLS1.3, was 'tls12'")]
    [InlineData(null, "SSL3", null, "--tls-max-version must be TLS1.2 or TLS1.3, was 'SSL3'")]
    [InlineData("TLS1.3", "TLS1.2", null, "--tls-min-version (TLS1.3) is above --tls-max-version (TLS1.2)")]
    [InlineData(null, null, "TLS_RSA_WITH_RC4_128_SHA", "--cipher-suites: TLS_RSA_WITH_RC4_128_SHA is not supported by raftkv")]
    [InlineData(null, null, "TLS_NO_SUCH_SUITE", "--cipher-suites: unknown cipher suite 'TLS_NO_SUCH_SUITE'")]
    [InlineData(null, null, "TLS_AES_128_GCM_SHA256", "is a TLS 1.3 suite, always enabled")]
    [InlineData("TLS1.3", "TLS1.3", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "--cipher-suites applies to TLS 1.2 only")]
    public void BadValues_FailNamingTheFlag(string? min, string? max, string? suites, string expected)
    {
        var e = Assert.Throws<FormatException>(() => TlsPolicy.Parse(min, max, suites));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
