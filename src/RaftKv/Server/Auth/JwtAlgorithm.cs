using System.Security.Cryptography;

namespace RaftKv.Server.Auth;

/// <summary>The key kind a JWT signing method needs.</summary>
public enum JwtKeyFamily
{
    /// <summary>HS256/384/512: one shared secret (the priv-key file's bytes) signs and verifies.</summary>
    Hmac,
    /// <summary>RS256/384/512: RSA with PKCS#1 v1.5 padding.</summary>
    Rsa,
    /// <summary>PS256/384/512: RSA with PSS padding, salt as long as the hash.</summary>
    RsaPss,
    /// <summary>ES256/384/512: ECDSA on P-256/P-384/P-521, signature r||s.</summary>
    Ecdsa,
}

/// <summary>
/// One of the JWT signing methods etcd 3.4 accepts for <c>--auth-token jwt,sign-method=...</c> (all of golang-jwt's
/// but "none": etcd PR 9883), with the hash and key each needs (RFC 7518 section 3).
/// </summary>
/// <param name="Name">The "alg" header value, e.g. RS256.</param>
/// <param name="Family">The kind of key.</param>
/// <param name="Hash">The hash the signature is made over.</param>
/// <param name="HashBytes">The hash's length: the least HMAC secret (RFC 7518 section 3.2).</param>
public sealed record JwtAlgorithm(string Name, JwtKeyFamily Family, HashAlgorithmName Hash, int HashBytes)
{
    /// <summary>Every supported method, by name.</summary>
    public static readonly IReadOnlyList<JwtAlgorithm> All =
    [
        new("RS256", JwtKeyFamily.Rsa, HashAlgorithmName.SHA256, 32),
        new("RS384", JwtKeyFamily.Rsa, HashAlgorithmName.SHA384, 48),
        new("RS512", JwtKeyFamily.Rsa, HashAlgorithmName.SHA512, 64),
        new("PS256", JwtKeyFamily.RsaPss, HashAlgorithmName.SHA256, 32),
        new("PS384", JwtKeyFamily.RsaPss, HashAlgorithmName.SHA384, 48),
        new("PS512", JwtKeyFamily.RsaPss, HashAlgorithmName.SHA512, 64),
        new("ES256", JwtKeyFamily.Ecdsa, HashAlgorithmName.SHA256, 32),
        new("ES384", JwtKeyFamily.Ecdsa, HashAlgorithmName.SHA384, 48),
        new("ES512", JwtKeyFamily.Ecdsa, HashAlgorithmName.SHA512, 64),
        new("HS256", JwtKeyFamily.Hmac, HashAlgorithmName.SHA256, 32),
        new("HS384", JwtKeyFamily.Hmac, HashAlgorithmName.SHA384, 48),
        new("HS512", JwtKeyFamily.Hmac, HashAlgorithmName.SHA512, 64),
    ];

    /// <summary>The names, for messages.</summary>
    public static string Names => string.Join(", ", All.Select(a => a.Name));

    /// <summary>The method named <paramref name="name"/> (case as written in JWTs: upper); null for any other, "none" included.</summary>
    public static JwtAlgorithm? Find(string name) => All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal));

    /// <summary>For ES methods: the curve's size in bits (P-256, P-384, P-521), which fixes the signature's length.</summary>
    public int CurveBits => Family != JwtKeyFamily.Ecdsa ? 0 : HashBytes switch { 32 => 256, 48 => 384, _ => 521 };

    /// <summary>The RSA padding of RS and PS methods.</summary>
    public RSASignaturePadding RsaPadding => Family == JwtKeyFamily.RsaPss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
}
