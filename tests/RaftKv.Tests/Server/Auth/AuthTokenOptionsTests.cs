using System.Security.Cryptography;
using RaftKv.Server.Auth;

namespace RaftKv.Tests.Server.Auth;

/// <summary>
/// --auth-token parsing in etcd 3.4's syntax (auth/options.go: simple, or jwt with sign-method, pub-key, priv-key,
/// ttl defaulting to 5m), and each bad value refused with a message naming the option.
/// </summary>
public sealed class AuthTokenOptionsTests : IDisposable
{
    private readonly JwtKeyFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Refusal(string text) => Assert.Throws<FormatException>(() => AuthTokenOptions.Parse(text)).Message;

    [Fact]
    public void Simple_IsTheDefaultKind()
    {
        var options = AuthTokenOptions.Parse("simple");
        Assert.Null(options.Jwt);
        Assert.Same(AuthTokenOptions.Simple, options);
    }

    [Fact]
    public void Jwt_WithBothRsaKeys_SignsAndHasEtcdsDefaultTtl()
    {
        var (priv, pub) = _files.Rsa("rsa");
        var options = AuthTokenOptions.Parse($"jwt,pub-key={pub},priv-key={priv},sign-method=RS256");
        Assert.Equal("RS256", options.Jwt!.Algorithm.Name);
        Assert.True(options.Jwt.CanSign);
        Assert.Equal(TimeSpan.FromMinutes(5), options.JwtTtl);
    }

    [Fact]
    public void Jwt_OptionsInAnyOrder_WithTtl()
    {
        var (priv, _) = _files.Ec("ec", ECCurve.NamedCurves.nistP384);
        var options = AuthTokenOptions.Parse($"jwt,ttl=10m,sign-method=ES384,priv-key={priv}");
        Assert.Equal(TimeSpan.FromMinutes(10), options.JwtTtl);
        Assert.True(options.Jwt!.CanSign);
    }

    [Fact]
    public void Jwt_WithOnlyAPublicKey_VerifiesButCannotSign()
    {
        var (_, pub) = _files.Rsa("rsa");
        var options = AuthTokenOptions.Parse($"jwt,pub-key={pub},sign-method=PS512");
        Assert.False(options.Jwt!.CanSign);
    }

    [Fact]
    public void Jwt_Hmac_TakesThePrivKeyFilesBytesAsTheSecret()
    {
        var secret = _files.Write("secret", new string('s', 64));
        Assert.True(AuthTokenOptions.Parse($"jwt,priv-key={secret},sign-method=HS512").Jwt!.CanSign);
    }

    [Fact]
    public void Jwt_Certificate_AsPubKey()
    {
        using var rsa = RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=jwt", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pub = _files.Write("cert.pem", certificate.ExportCertificatePem());
        var priv = _files.Write("cert.key", rsa.ExportRSAPrivateKeyPem());
        Assert.True(AuthTokenOptions.Parse($"jwt,pub-key={pub},priv-key={priv},sign-method=RS384").Jwt!.CanSign);
    }

    [Theory]
    [InlineData("", "the token type must be 'simple' or 'jwt'")]
    [InlineData("jwt2", "the token type must be 'simple' or 'jwt', was 'jwt2'")]
    [InlineData("simple,ttl=5m", "simple tokens take no options")]
    [InlineData("jwt", "jwt needs sign-method")]
    [InlineData("jwt,sign-method", "'sign-method' is not key=value")]
    [InlineData("jwt,sign-method=RS256=x", "is not key=value")]
    [InlineData("jwt,sign-method=RS256,color=blue", "unknown jwt option 'color'")]
    [InlineData("jwt,sign-method=RS256,sign-method=RS256", "sign-method is given twice")]
    [InlineData("jwt,sign-method=", "sign-method is empty")]
    [InlineData("jwt,sign-method=none", "sign-method 'none' is refused")]
    [InlineData("jwt,sign-method=rs256", "sign-method 'rs256' is not one of RS256")]
    [InlineData("jwt,sign-method=EdDSA", "sign-method 'EdDSA' is not one of")]
    [InlineData("jwt,sign-method=RS256,ttl=soon", "ttl: 'soon' is not a duration")]
    [InlineData("jwt,sign-method=RS256,ttl=0s", "ttl: '0s' must be a positive duration")]
    [InlineData("jwt,sign-method=RS256,ttl=25h", "ttl must be between 1s and 24h")]
    [InlineData("jwt,sign-method=RS256", "RS256 needs priv-key (to issue and verify), pub-key (to verify only) or both")]
    [InlineData("jwt,sign-method=HS256", "HS256 needs priv-key")]
    public void BadValues_AreRefusedNamingTheProblem(string text, string expected)
    {
        var message = Refusal(text);
        Assert.StartsWith("--auth-token: ", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFile_NamesTheOptionAndPath()
    {
        var missing = Path.Combine(_files.Dir, "nope.pem");
        Assert.Equal($"--auth-token: priv-key '{missing}': no such file", Refusal($"jwt,sign-method=RS256,priv-key={missing}"));
        Assert.Equal($"--auth-token: pub-key '{missing}': no such file", Refusal($"jwt,sign-method=ES256,pub-key={missing}"));
    }

    [Fact]
    public void UnreadableFile_NamesTheOption()
    {
        Assert.Contains("priv-key", Refusal($"jwt,sign-method=RS256,priv-key={_files.Dir}"), StringComparison.Ordinal); // a directory
        var huge = _files.Write("huge.pem", new string('A', JwtKey.FileBytesMax + 1));
        Assert.Contains("is too large for a key", Refusal($"jwt,sign-method=RS256,priv-key={huge}"), StringComparison.Ordinal);
        var notPem = _files.Write("not.pem", "hello");
        Assert.Equal($"--auth-token: priv-key '{notPem}': no PEM key in the file", Refusal($"jwt,sign-method=RS256,priv-key={notPem}"));
    }

    [Fact]
    public void KeyOfTheWrongKind_IsRefused()
    {
        var (rsaPriv, rsaPub) = _files.Rsa("rsa");
        var (ecPriv, ecPub) = _files.Ec("ec", ECCurve.NamedCurves.nistP256);
        // An EC key for an RSA method: SEC1 has its own label; PKCS#8 and SPKI are told apart by the import.
        Assert.Contains("holds a 'EC PRIVATE KEY'; RS256 needs an RSA private key", Refusal($"jwt,sign-method=RS256,priv-key={ecPriv}"), StringComparison.Ordinal);
        Assert.Contains("its 'PUBLIC KEY' is not an RSA public key", Refusal($"jwt,sign-method=PS256,pub-key={ecPub}"), StringComparison.Ordinal);
        Assert.Contains("its 'PRIVATE KEY' is not an EC private key", Refusal($"jwt,sign-method=ES256,priv-key={rsaPriv}"), StringComparison.Ordinal);
        // A public key given as priv-key, a private key as pub-key.
        Assert.Contains("holds a 'PUBLIC KEY'; RS256 needs an RSA private key", Refusal($"jwt,sign-method=RS256,priv-key={rsaPub}"), StringComparison.Ordinal);
        Assert.Contains("holds a 'PRIVATE KEY'; RS256 needs an RSA public key", Refusal($"jwt,sign-method=RS256,pub-key={rsaPriv}"), StringComparison.Ordinal);
        // The curve must be the method's; RSA must be 2048 bits at least; HS takes no pub-key, and a long enough secret.
        Assert.Contains("ES512 needs a P-521 key, was a 256-bit curve", Refusal($"jwt,sign-method=ES512,priv-key={ecPriv}"), StringComparison.Ordinal);
        var (smallPriv, _) = _files.Rsa("small", 1024);
        Assert.Contains("an RSA key of 1024 bits is too small for RS256", Refusal($"jwt,sign-method=RS256,priv-key={smallPriv}"), StringComparison.Ordinal);
        Assert.Contains("pub-key is not used by HS256", Refusal($"jwt,sign-method=HS256,priv-key={rsaPriv},pub-key={rsaPub}"), StringComparison.Ordinal);
        var shortSecret = _files.Write("short", "secret");
        Assert.Contains("HS384 needs a secret of at least 48 bytes, was 6", Refusal($"jwt,sign-method=HS384,priv-key={shortSecret}"), StringComparison.Ordinal);
        using var encrypted = RSA.Create(2048);
        var locked = _files.Write("locked.key", encrypted.ExportEncryptedPkcs8PrivateKeyPem("pw", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1000)));
        Assert.Contains("encrypted private keys are not supported", Refusal($"jwt,sign-method=RS256,priv-key={locked}"), StringComparison.Ordinal);
    }

    [Fact]
    public void MismatchedPair_IsRefused()
    {
        var (priv, _) = _files.Rsa("one");
        var (_, otherPub) = _files.Rsa("two");
        Assert.Contains("is not the public half of priv-key", Refusal($"jwt,sign-method=RS256,priv-key={priv},pub-key={otherPub}"), StringComparison.Ordinal);
        var (ecPriv, _) = _files.Ec("e1", ECCurve.NamedCurves.nistP256);
        var (_, ecOtherPub) = _files.Ec("e2", ECCurve.NamedCurves.nistP256);
        Assert.Contains("EC keys differ", Refusal($"jwt,sign-method=ES256,priv-key={ecPriv},pub-key={ecOtherPub}"), StringComparison.Ordinal);
    }

    [Fact]
    public void OpenSslEcParamBlockBeforeTheKey_IsSkipped()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var path = _files.Write("ecparam.key", "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + ec.ExportECPrivateKeyPem());
        Assert.True(AuthTokenOptions.Parse($"jwt,sign-method=ES256,priv-key={path}").Jwt!.CanSign);
    }
}
