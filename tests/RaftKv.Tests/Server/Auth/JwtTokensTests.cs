using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using RaftKv.Server.Auth;

namespace RaftKv.Tests.Server.Auth;

/// <summary>
/// JWT issue and validation (RFC 7519, RFC 7515 compact form, RFC 7518 algorithms): a round trip per method, and the
/// known attacks refused: tampered claims or signature, alg "none" (RFC 8725 section 2.1), an RS256 token re-signed as
/// HS256 with the public key as the secret (the algorithm-confusion attack, RFC 8725 section 2.1), expiry, a wrong
/// key, oversized and malformed input of many shapes, none of which throws.
/// </summary>
public sealed class JwtTokensTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static JwtKey NewKey(string method)
    {
        var algorithm = JwtAlgorithm.Find(method)!;
        switch (algorithm.Family)
        {
            case JwtKeyFamily.Hmac:
                return JwtKey.FromSecret(algorithm, RandomNumberGenerator.GetBytes(algorithm.HashBytes));
            case JwtKeyFamily.Ecdsa:
                using (var ec = ECDsa.Create(algorithm.CurveBits switch { 256 => ECCurve.NamedCurves.nistP256, 384 => ECCurve.NamedCurves.nistP384, _ => ECCurve.NamedCurves.nistP521 }))
                    return JwtKey.FromEcdsa(algorithm, ec, includePrivate: true);
            default:
                using (var rsa = RSA.Create(2048)) return JwtKey.FromRsa(algorithm, rsa, includePrivate: true);
        }
    }

    private static string Segment(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    private static string Json(string segment) => Encoding.UTF8.GetString(Base64Url.DecodeFromChars(segment));

    public static TheoryData<string> Methods() => [.. JwtAlgorithm.All.Select(a => a.Name)];

    [Theory]
    [MemberData(nameof(Methods))]
    public void RoundTrip_EveryMethod(string method)
    {
        var tokens = new JwtTokens(NewKey(method), TimeSpan.FromMinutes(5), new ManualClock(Start));
        var token = tokens.Issue("alice", 7);
        Assert.Equal(new JwtClaims("alice", 7, Start.AddMinutes(5).ToUnixTimeSeconds()), tokens.Validate(token));
        var parts = token.Split('.');
        Assert.Equal($"{{\"alg\":\"{method}\",\"typ\":\"JWT\"}}", Json(parts[0]));
        Assert.Equal($"{{\"exp\":{Start.AddMinutes(5).ToUnixTimeSeconds()},\"revision\":7,\"username\":\"alice\"}}", Json(parts[1])); // etcd's claims, in Go's order
    }

    [Theory]
    [InlineData("RS256")]
    [InlineData("ES256")]
    [InlineData("HS256")]
    public void TamperedClaims_AreRefused(string method)
    {
        var tokens = new JwtTokens(NewKey(method), TimeSpan.FromMinutes(5), new ManualClock(Start));
        var parts = tokens.Issue("alice", 7).Split('.');
        var asRoot = Segment(Json(parts[1]).Replace("alice", "root", StringComparison.Ordinal));
        Assert.Null(tokens.Validate($"{parts[0]}.{asRoot}.{parts[2]}"));
        var newer = Segment(Json(parts[1]).Replace("\"revision\":7", "\"revision\":8", StringComparison.Ordinal));
        Assert.Null(tokens.Validate($"{parts[0]}.{newer}.{parts[2]}"));
    }

    [Theory]
    [InlineData("PS384")]
    [InlineData("ES512")]
    [InlineData("HS512")]
    public void TamperedSignature_IsRefused(string method)
    {
        var tokens = new JwtTokens(NewKey(method), TimeSpan.FromMinutes(5), new ManualClock(Start));
        var parts = tokens.Issue("alice", 7).Split('.');
        var signature = Base64Url.DecodeFromChars(parts[2]);
        for (var i = 0; i < signature.Length; i += Math.Max(1, signature.Length / 8))
        {
            var flipped = (byte[])signature.Clone();
            flipped[i] ^= 0x01;
            Assert.Null(tokens.Validate($"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString(flipped)}"));
        }
        Assert.Null(tokens.Validate($"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString(signature[..^1])}")); // one byte short
        Assert.Null(tokens.Validate($"{parts[0]}.{parts[1]}.{Base64Url.EncodeToString([.. signature, 0])}")); // one byte long
    }

    [Theory]
    [InlineData("RS256")]
    [InlineData("HS256")]
    public void AlgNone_IsRefused(string method)
    {
        var tokens = new JwtTokens(NewKey(method), TimeSpan.FromMinutes(5), new ManualClock(Start));
        var claims = tokens.Issue("root", 7).Split('.')[1];
        foreach (var header in new[] { "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}", "{\"typ\":\"JWT\"}", "{\"alg\":null}" })
        {
            Assert.Null(tokens.Validate($"{Segment(header)}.{claims}."));
            Assert.Null(tokens.Validate($"{Segment(header)}.{claims}.AAAA"));
        }
    }

    [Fact]
    public void RsaTokenResignedAsHmacWithThePublicKey_IsRefused()
    {
        using var rsa = RSA.Create(2048);
        var publicOnly = JwtKey.FromRsa(JwtAlgorithm.Find("RS256")!, rsa, includePrivate: false);
        var verifier = new JwtTokens(publicOnly, TimeSpan.FromMinutes(5), new ManualClock(Start));
        var forged = $"{Segment("{\"alg\":\"HS256\",\"typ\":\"JWT\"}")}.{Segment($"{{\"exp\":{Start.AddHours(1).ToUnixTimeSeconds()},\"revision\":99,\"username\":\"root\"}}")}";
        foreach (var secret in new[] { rsa.ExportSubjectPublicKeyInfoPem(), rsa.ExportRSAPublicKeyPem() })
        {
            var mac = HMACSHA256.HashData(Encoding.ASCII.GetBytes(secret), Encoding.ASCII.GetBytes(forged));
            Assert.Null(verifier.Validate($"{forged}.{Base64Url.EncodeToString(mac)}"));
        }
        // The same claims signed by the key itself pass: the refusal is the method's, not the claims'.
        using var signer = RSA.Create(rsa.ExportParameters(true));
        var rs256 = $"{Segment("{\"alg\":\"RS256\",\"typ\":\"JWT\"}")}.{forged.Split('.')[1]}";
        var signature = signer.SignData(Encoding.ASCII.GetBytes(rs256), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Assert.Equal("root", verifier.Validate($"{rs256}.{Base64Url.EncodeToString(signature)}")?.User);
    }

    [Fact]
    public void OtherMethodOfTheSameFamily_IsRefused()
    {
        using var rsa = RSA.Create(2048);
        var rs256 = new JwtTokens(JwtKey.FromRsa(JwtAlgorithm.Find("RS256")!, rsa, true), TimeSpan.FromMinutes(5), new ManualClock(Start));
        var ps256 = new JwtTokens(JwtKey.FromRsa(JwtAlgorithm.Find("PS256")!, rsa, true), TimeSpan.FromMinutes(5), new ManualClock(Start));
        Assert.Null(rs256.Validate(ps256.Issue("alice", 1)));
        Assert.Null(ps256.Validate(rs256.Issue("alice", 1)));
    }

    [Fact]
    public void Expired_IsRefused_AtTheExpirySecond()
    {
        var clock = new ManualClock(Start);
        var tokens = new JwtTokens(NewKey("ES256"), TimeSpan.FromMinutes(10), clock);
        var token = tokens.Issue("alice", 3);
        clock.Now = Start.AddMinutes(10).AddSeconds(-1);
        Assert.NotNull(tokens.Validate(token));
        clock.Now = Start.AddMinutes(10);
        Assert.Null(tokens.Validate(token));
    }

    [Fact]
    public void MissingOrMistypedClaims_AndNotBefore_AreRefused()
    {
        var key = NewKey("HS256");
        var tokens = new JwtTokens(key, TimeSpan.FromMinutes(5), new ManualClock(Start));
        var exp = Start.AddHours(1).ToUnixTimeSeconds();
        string Signed(string claims)
        {
            var input = $"{Segment("{\"alg\":\"HS256\",\"typ\":\"JWT\"}")}.{Segment(claims)}";
            return $"{input}.{Base64Url.EncodeToString(key.Sign(Encoding.ASCII.GetBytes(input)))}";
        }
        Assert.NotNull(tokens.Validate(Signed($"{{\"username\":\"a\",\"revision\":1,\"exp\":{exp}}}")));
        Assert.NotNull(tokens.Validate(Signed($"{{\"username\":\"a\",\"revision\":1,\"exp\":{exp}.5}}"))); // a fractional exp, as some issuers write
        foreach (var claims in new[]
        {
            $"{{\"revision\":1,\"exp\":{exp}}}", $"{{\"username\":\"\",\"revision\":1,\"exp\":{exp}}}", $"{{\"username\":7,\"revision\":1,\"exp\":{exp}}}",
            $"{{\"username\":\"a\",\"exp\":{exp}}}", $"{{\"username\":\"a\",\"revision\":-1,\"exp\":{exp}}}", $"{{\"username\":\"a\",\"revision\":\"1\",\"exp\":{exp}}}",
            "{\"username\":\"a\",\"revision\":1}", "{\"username\":\"a\",\"revision\":1,\"exp\":\"never\"}", "{\"username\":\"a\",\"revision\":1,\"exp\":1e400}",
            $"{{\"username\":\"a\",\"revision\":1,\"exp\":{exp},\"nbf\":{exp}}}", "[1,2]", "\"x\"", "{\"username\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}}}",
        })
        {
            Assert.Null(tokens.Validate(Signed(claims)));
        }
        var crit = $"{Segment("{\"alg\":\"HS256\",\"crit\":[\"x\"]}")}.{Segment($"{{\"username\":\"a\",\"revision\":1,\"exp\":{exp}}}")}";
        Assert.Null(tokens.Validate($"{crit}.{Base64Url.EncodeToString(key.Sign(Encoding.ASCII.GetBytes(crit)))}"));
    }

    [Fact]
    public void WrongKey_IsRefused()
    {
        foreach (var method in new[] { "RS512", "ES384", "HS384" })
        {
            var issuer = new JwtTokens(NewKey(method), TimeSpan.FromMinutes(5), new ManualClock(Start));
            var other = new JwtTokens(NewKey(method), TimeSpan.FromMinutes(5), new ManualClock(Start));
            Assert.Null(other.Validate(issuer.Issue("alice", 1)));
        }
    }

    [Fact]
    public void PublicKeyOnly_VerifiesButCannotIssue()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var es256 = JwtAlgorithm.Find("ES256")!;
        var issuer = new JwtTokens(JwtKey.FromEcdsa(es256, ec, true), TimeSpan.FromMinutes(5), new ManualClock(Start));
        var verifier = new JwtTokens(JwtKey.FromEcdsa(es256, ec, false), TimeSpan.FromMinutes(5), new ManualClock(Start));
        Assert.False(verifier.CanIssue);
        Assert.Equal("bob", verifier.Validate(issuer.Issue("bob", 2))?.User);
        Assert.Throws<InvalidOperationException>(() => verifier.Issue("bob", 2));
    }

    [Fact]
    public void Garbage_OfManyShapes_IsRefusedWithoutThrowing()
    {
        var tokens = new JwtTokens(NewKey("RS256"), TimeSpan.FromMinutes(5), new ManualClock(Start));
        var good = tokens.Issue("alice", 1);
        var parts = good.Split('.');
        var shapes = new List<string?>
        {
            null, "", ".", "..", "...", "a", "a.b", "a.b.c", "a..c", ".b.c", "a.b.", good + ".", "." + good, good + ".x", good.Replace('.', ','),
            "abc.def.ghi", "!!!.###.$$$", "eyJ.eyJ.eyJ", "A.A.A", "AAAAA.AAAAA.AAAAA", $"{parts[0]}=.{parts[1]}.{parts[2]}", $"{parts[0]} .{parts[1]}.{parts[2]}",
            $"{parts[0]}.{parts[1]}.{parts[2]}==", $"{parts[0]}.{parts[1]}\n.{parts[2]}", good.Replace('-', '+').Replace('_', '/'), good[..^1], good[1..],
            $"{Segment("not json")}.{parts[1]}.{parts[2]}", $"{Segment("{")}.{parts[1]}.{parts[2]}", $"{Segment("{\"alg\":\"RS256\"")}.{parts[1]}.{parts[2]}",
            $"{Segment(new string('[', 5000))}.{parts[1]}.{parts[2]}", $"{parts[0]}.{Segment("\u0000\u0001")}.{parts[2]}", "\u00e9\u00e9.\u00e9.\u00e9",
            new string('A', JwtTokens.TokenCharsMax + 1), $"{parts[0]}.{new string('A', JwtTokens.TokenCharsMax)}.{parts[2]}", new string('.', 10_000),
            string.Concat(Enumerable.Repeat("a.", 4000)),
        };
        var random = new Random(18);
        for (var i = 0; i < 500; i++)
        {
            var chars = good.ToCharArray();
            chars[random.Next(chars.Length)] = (char)random.Next(0, 0x3000);
            shapes.Add(new string(chars));
        }
        foreach (var shape in shapes)
        {
            var result = tokens.Validate(shape);
            Assert.True(result is null || shape == good, $"accepted: {shape}");
        }
        Assert.NotNull(tokens.Validate(good));
    }
}
