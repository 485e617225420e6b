using RaftKv.Server.Tls;

namespace RaftKv.Tests.Server.Tls;

/// <summary>The TLS flags of one side (client or peer): which combinations are refused, naming the flag and the file.</summary>
public sealed class TlsEndpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("raftkv-tls-unit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private TlsEndpoint? Client(string? cert, string? key, string? ca = null, bool clientCertAuth = false, bool auto = false, bool https = true) =>
        TlsEndpoint.FromFlags("", cert, key, ca, clientCertAuth, auto, TlsPolicy.Default, https);

    [Fact]
    public void NoFlagsAndNoHttps_IsPlaintext() => Assert.Null(Client(null, null, https: false));

    [Fact]
    public void GoodFiles_Load_AndTheCaVerifiesItsOwnLeaves()
    {
        var certs = LocalCertificates.Ensure(_dir);
        var tls = Client(certs.ServerCertFile, certs.ServerKeyFile, certs.CaFile, clientCertAuth: true)!;
        Assert.True(tls.Certificate.Current.HasPrivateKey);
        Assert.Contains("raftkv server", tls.Certificate.Current.Subject, StringComparison.Ordinal);
        Assert.True(tls.TrustedCa!.Verifies(tls.Certificate.Current, out var problem), problem);

        var foreign = LocalCertificates.Ensure(Path.Combine(_dir, "foreign"), "foreign CA");
        var stranger = TlsEndpoint.FromFlags("", foreign.ServerCertFile, foreign.ServerKeyFile, null, false, false, TlsPolicy.Default, true)!;
        Assert.False(tls.TrustedCa.Verifies(stranger.Certificate.Current, out problem));
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void AnAllowedCommonName_AdmitsOnlyCertificatesThatCarryIt()
    {
        var certs = LocalCertificates.Ensure(_dir);
        var peer = TlsEndpoint.FromFlags("peer-", certs.PeerCertFile, certs.PeerKeyFile, certs.CaFile, true, false, TlsPolicy.Default, true)! with
        {
            AllowedCn = "raftkv peer",
        };
        using var member = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(certs.PeerCertFile);
        using var client = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(certs.ClientCertFile);
        Assert.True(peer.VerifyClient(member, out var problem), problem);
        // Signed by the same CA, but etcdctl's certificate (CN root) may not speak for a member.
        Assert.False(peer.VerifyClient(client, out problem));
        Assert.Equal("its common name 'root' is not the allowed 'raftkv peer' (--peer-cert-allowed-cn)", problem);

        var foreign = LocalCertificates.Ensure(Path.Combine(_dir, "foreign"), "foreign CA");
        using var stranger = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(foreign.PeerCertFile);
        Assert.False(peer.VerifyClient(stranger, out problem)); // the right name from the wrong CA
        Assert.DoesNotContain("common name", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AutoTls_MakesASelfSignedLoopbackCertificate()
    {
        var tls = Client(null, null, auto: true)!;
        Assert.True(tls.IsAuto);
        Assert.Equal(tls.Certificate.Current.Subject, tls.Certificate.Current.Issuer);
    }

    [Fact]
    public void ReplacedFiles_AreReadAgain_WithinAboutASecond()
    {
        var certs = LocalCertificates.Ensure(_dir, "first CA");
        var tls = Client(certs.ServerCertFile, certs.ServerKeyFile)!;
        var first = tls.Certificate.Current.Thumbprint;
        certs.Write("second CA");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (tls.Certificate.Current.Thumbprint == first && DateTime.UtcNow < deadline) Thread.Sleep(100);
        Assert.NotEqual(first, tls.Certificate.Current.Thumbprint);
        Assert.Contains("second CA", tls.Certificate.Current.Issuer, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFiles_NameTheFlagAndTheFile()
    {
        var missing = Path.Combine(_dir, "nope.crt");
        var e = Assert.Throws<FormatException>(() => Client(missing, missing));
        Assert.Contains($"--cert-file: file '{missing}' does not exist", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<FormatException>(() => TlsEndpoint.FromFlags("peer-", null, null, missing, false, true, TlsPolicy.Default, true));
        Assert.Contains($"--peer-trusted-ca-file: file '{missing}' does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GarbageOrMismatchedFiles_AreRefused()
    {
        var certs = LocalCertificates.Ensure(_dir);
        var garbage = Path.Combine(_dir, "garbage.pem");
        File.WriteAllText(garbage, "not a certificate\n");
        var e = Assert.Throws<FormatException>(() => Client(garbage, certs.ServerKeyFile));
        Assert.Contains("--cert-file", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<FormatException>(() => Client(certs.ServerCertFile, certs.PeerKeyFile)); // another certificate's key
        Assert.Contains("matching private key", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<FormatException>(() => Client(certs.ServerCertFile, certs.ServerKeyFile, garbage));
        Assert.Contains($"--trusted-ca-file '{garbage}'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, false, false, false, "--cert-file and --key-file must be given together")]
    [InlineData(false, false, true, false, "--client-cert-auth needs --trusted-ca-file")]
    [InlineData(false, false, false, true, "https:// client URLs need --cert-file and --key-file, or --auto-tls")]
    public void Combinations_AreChecked(bool certOnly, bool auto, bool clientCertAuth, bool https, string expected)
    {
        var certs = LocalCertificates.Ensure(_dir);
        var e = Assert.Throws<FormatException>(() => Client(certOnly ? certs.ServerCertFile : null, null, null, clientCertAuth, auto, https));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TlsFlagsWithoutAnHttpsUrl_AreRefused()
    {
        var certs = LocalCertificates.Ensure(_dir);
        var e = Assert.Throws<FormatException>(() => Client(certs.ServerCertFile, certs.ServerKeyFile, https: false));
        Assert.Contains("no client URL is https://", e.Message, StringComparison.Ordinal);
    }
}
