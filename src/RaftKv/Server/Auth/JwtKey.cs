using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace RaftKv.Server.Auth;

/// <summary>
/// The key of one JWT signing method, loaded from etcd's <c>priv-key</c> and <c>pub-key</c> files: PEM private keys
/// (PKCS#8 "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"), public keys ("PUBLIC KEY", "RSA PUBLIC KEY") or a
/// certificate, as golang-jwt reads them; for HS methods the priv-key file's bytes are the shared secret, as etcd.
/// With only a public key the member verifies tokens but cannot issue them (<see cref="CanSign"/>), as etcd.
/// </summary>
/// <remarks>
/// Thread-safe: RSA and ECDsa instances are not documented as safe for concurrent use, so each operation rents one
/// from a small pool (<see cref="KeyPool"/>); making one per call cost about 0.5-1 ms (OpenSSL imports and checks the
/// key), more than the verification itself.
/// </remarks>
public sealed class JwtKey
{
    /// <summary>Largest key file read.</summary>
    public const int FileBytesMax = 64 * 1024;

    /// <summary>Smallest RSA modulus accepted (NIST SP 800-131A).</summary>
    public const int RsaBitsMin = 2048;

    private readonly byte[]? _secret;
    private readonly RSAParameters? _rsa;
    private readonly ECParameters? _ec;
    private readonly KeyPool _signers;
    private readonly KeyPool _verifiers;

    private JwtKey(JwtAlgorithm algorithm, byte[]? secret, RSAParameters? rsa, ECParameters? ec, bool canSign)
    {
        Algorithm = algorithm;
        _secret = secret;
        _rsa = rsa;
        _ec = ec;
        CanSign = canSign;
        _signers = new KeyPool(() => rsa is { } r ? RSA.Create(r) : ECDsa.Create(ec!.Value));
        _verifiers = new KeyPool(() => rsa is { } r ? RSA.Create(new RSAParameters { Modulus = r.Modulus, Exponent = r.Exponent }) : ECDsa.Create(PublicOnly(ec!.Value)));
    }

    /// <summary>The signing method: the only "alg" a token may name.</summary>
    public JwtAlgorithm Algorithm { get; }

    /// <summary>Whether this key signs (a private key or an HMAC secret), not only verifies.</summary>
    public bool CanSign { get; }

    /// <summary>An HS key from the shared secret.</summary>
    /// <exception cref="ArgumentException">Not an HS method, or a secret shorter than the hash (RFC 7518 section 3.2).</exception>
    public static JwtKey FromSecret(JwtAlgorithm algorithm, ReadOnlySpan<byte> secret)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        if (algorithm.Family != JwtKeyFamily.Hmac) throw new ArgumentException($"{algorithm.Name} does not take a shared secret", nameof(algorithm));
        if (secret.Length < algorithm.HashBytes) throw new ArgumentException($"{algorithm.Name} needs a secret of at least {algorithm.HashBytes} bytes, was {secret.Length}", nameof(secret));
        return new JwtKey(algorithm, secret.ToArray(), null, null, canSign: true);
    }

    /// <summary>An RS or PS key; private parameters make it sign.</summary>
    /// <exception cref="ArgumentException">Not an RS/PS method, or a modulus under <see cref="RsaBitsMin"/> bits.</exception>
    public static JwtKey FromRsa(JwtAlgorithm algorithm, RSA key, bool includePrivate)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(key);
        if (algorithm.Family is not (JwtKeyFamily.Rsa or JwtKeyFamily.RsaPss)) throw new ArgumentException($"{algorithm.Name} does not take an RSA key", nameof(algorithm));
        if (key.KeySize < RsaBitsMin) throw new ArgumentException($"an RSA key of {key.KeySize} bits is too small for {algorithm.Name} (at least {RsaBitsMin})", nameof(key));
        return new JwtKey(algorithm, null, key.ExportParameters(includePrivate), null, includePrivate);
    }

    /// <summary>An ES key; private parameters make it sign.</summary>
    /// <exception cref="ArgumentException">Not an ES method, or a curve other than the method's.</exception>
    public static JwtKey FromEcdsa(JwtAlgorithm algorithm, ECDsa key, bool includePrivate)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(key);
        if (algorithm.Family != JwtKeyFamily.Ecdsa) throw new ArgumentException($"{algorithm.Name} does not take an EC key", nameof(algorithm));
        if (key.KeySize != algorithm.CurveBits) throw new ArgumentException($"{algorithm.Name} needs a P-{algorithm.CurveBits} key, was a {key.KeySize}-bit curve", nameof(key));
        return new JwtKey(algorithm, null, null, key.ExportParameters(includePrivate), includePrivate);
    }

    /// <summary>Loads the key files of <c>--auth-token jwt</c>; either path may be null.</summary>
    /// <exception cref="FormatException">A file is missing, unreadable, too large, not PEM, or holds the wrong kind of key; the message names the option.</exception>
    public static JwtKey Load(JwtAlgorithm algorithm, string? publicKeyPath, string? privateKeyPath)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        var m = algorithm.Name;
        if (algorithm.Family == JwtKeyFamily.Hmac)
        {
            if (publicKeyPath is not null) throw AuthTokenOptions.Fail($"pub-key is not used by {m}: its shared secret is the priv-key file's bytes");
            if (privateKeyPath is null) throw AuthTokenOptions.Fail($"{m} needs priv-key (the file whose bytes are the shared secret)");
            return Wrap("priv-key", privateKeyPath, () => FromSecret(algorithm, Read("priv-key", privateKeyPath)));
        }
        if (publicKeyPath is null && privateKeyPath is null) throw AuthTokenOptions.Fail($"{m} needs priv-key (to issue and verify), pub-key (to verify only) or both");
        var isRsa = algorithm.Family != JwtKeyFamily.Ecdsa;
        var kind = isRsa ? "RSA" : "EC";
        var privateKey = privateKeyPath is null ? null : Wrap("priv-key", privateKeyPath, () => Import(algorithm, "priv-key", privateKeyPath, isPrivate: true));
        var publicKey = publicKeyPath is null ? null : Wrap("pub-key", publicKeyPath, () => Import(algorithm, "pub-key", publicKeyPath, isPrivate: false));
        if (privateKey is not null && publicKey is not null && !SamePublicKey(privateKey, publicKey))
            throw AuthTokenOptions.Fail($"pub-key '{publicKeyPath}' is not the public half of priv-key '{privateKeyPath}' ({kind} keys differ)");
        return privateKey ?? publicKey!;
    }

    /// <summary>The signature of <paramref name="data"/> (the token's "header.payload").</summary>
    /// <exception cref="InvalidOperationException">Only a public key is loaded.</exception>
    public byte[] Sign(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!CanSign) throw new InvalidOperationException($"{Algorithm.Name}: only a public key is loaded; tokens can be verified, not signed");
        if (Algorithm.Family == JwtKeyFamily.Hmac) return CryptographicOperations.HmacData(Algorithm.Hash, _secret!, data);
        var key = _signers.Rent();
        try
        {
            return key is ECDsa ec
                ? ec.SignData(data, Algorithm.Hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
                : ((RSA)key).SignData(data, Algorithm.Hash, Algorithm.RsaPadding);
        }
        finally
        {
            _signers.Return(key);
        }
    }

    /// <summary>Whether <paramref name="signature"/> is this key's over <paramref name="data"/>; HMACs compared in constant time.</summary>
    public bool Verify(byte[] data, byte[] signature)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(signature);
        if (Algorithm.Family == JwtKeyFamily.Hmac)
            return CryptographicOperations.FixedTimeEquals(CryptographicOperations.HmacData(Algorithm.Hash, _secret!, data), signature);
        var length = Algorithm.Family == JwtKeyFamily.Ecdsa ? 2 * ((Algorithm.CurveBits + 7) / 8) : _rsa!.Value.Modulus!.Length;
        if (signature.Length != length) return false;
        var key = _verifiers.Rent();
        try
        {
            return key is ECDsa ec
                ? ec.VerifyData(data, signature, Algorithm.Hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
                : ((RSA)key).VerifyData(data, signature, Algorithm.Hash, Algorithm.RsaPadding);
        }
        finally
        {
            _verifiers.Return(key);
        }
    }

    private static ECParameters PublicOnly(ECParameters p) => new() { Curve = p.Curve, Q = p.Q };

    private static bool SamePublicKey(JwtKey a, JwtKey b) => a._rsa is { } ra && b._rsa is { } rb
        ? ra.Modulus.AsSpan().SequenceEqual(rb.Modulus) && ra.Exponent.AsSpan().SequenceEqual(rb.Exponent)
        : a._ec is { } ea && b._ec is { } eb && ea.Q.X.AsSpan().SequenceEqual(eb.Q.X) && ea.Q.Y.AsSpan().SequenceEqual(eb.Q.Y);

    // A key of the wrong kind or size becomes the flag's error, naming the option and the file.
    private static JwtKey Wrap(string option, string path, Func<JwtKey> load)
    {
        try
        {
            return load();
        }
        catch (ArgumentException e)
        {
            throw AuthTokenOptions.Fail($"{option} '{path}': {e.Message.Split(" (Parameter", 2)[0]}");
        }
        catch (CryptographicException e)
        {
            throw AuthTokenOptions.Fail($"{option} '{path}': not a valid key ({e.Message})");
        }
    }

    private static byte[] Read(string option, string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw AuthTokenOptions.Fail($"{option} '{path}': no such file");
            if (info.Length > FileBytesMax) throw AuthTokenOptions.Fail($"{option} '{path}': {info.Length} bytes is too large for a key (at most {FileBytesMax})");
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw AuthTokenOptions.Fail($"{option} '{path}': cannot be read ({e.Message})");
        }
    }

    private static JwtKey Import(JwtAlgorithm algorithm, string option, string path, bool isPrivate)
    {
        var (label, der) = FirstKeyBlock(option, path, Encoding.ASCII.GetString(Read(option, path)));
        var isRsa = algorithm.Family != JwtKeyFamily.Ecdsa;
        var want = (isRsa ? "an RSA" : "an EC") + (isPrivate ? " private key" : " public key or certificate");
        string[] accepted = (isRsa, isPrivate) switch
        {
            (true, true) => ["PRIVATE KEY", "RSA PRIVATE KEY"],
            (true, false) => ["PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"],
            (false, true) => ["PRIVATE KEY", "EC PRIVATE KEY"],
            (false, false) => ["PUBLIC KEY", "CERTIFICATE"],
        };
        if (label == "ENCRYPTED PRIVATE KEY") throw AuthTokenOptions.Fail($"{option} '{path}': encrypted private keys are not supported");
        if (!accepted.Contains(label)) throw AuthTokenOptions.Fail($"{option} '{path}' holds a '{label}'; {algorithm.Name} needs {want} (PEM {string.Join(", ", accepted.Select(a => $"'{a}'"))})");
        try
        {
            return isRsa ? ImportRsa(algorithm, label, der, isPrivate) : ImportEc(algorithm, label, der, isPrivate);
        }
        catch (CryptographicException)
        {
            throw AuthTokenOptions.Fail($"{option} '{path}': its '{label}' is not {want}, which {algorithm.Name} needs");
        }
    }

    private static JwtKey ImportRsa(JwtAlgorithm algorithm, string label, byte[] der, bool isPrivate)
    {
        if (label == "CERTIFICATE")
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            using var fromCertificate = certificate.GetRSAPublicKey() ?? throw new CryptographicException("no RSA key in the certificate");
            return FromRsa(algorithm, fromCertificate, includePrivate: false);
        }
        using var rsa = RSA.Create();
        switch (label)
        {
            case "PRIVATE KEY": rsa.ImportPkcs8PrivateKey(der, out _); break;
            case "RSA PRIVATE KEY": rsa.ImportRSAPrivateKey(der, out _); break;
            case "RSA PUBLIC KEY": rsa.ImportRSAPublicKey(der, out _); break;
            default: rsa.ImportSubjectPublicKeyInfo(der, out _); break;
        }
        return FromRsa(algorithm, rsa, isPrivate);
    }

    private static JwtKey ImportEc(JwtAlgorithm algorithm, string label, byte[] der, bool isPrivate)
    {
        if (label == "CERTIFICATE")
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            using var fromCertificate = certificate.GetECDsaPublicKey() ?? throw new CryptographicException("no EC key in the certificate");
            return FromEcdsa(algorithm, fromCertificate, includePrivate: false);
        }
        using var ec = ECDsa.Create();
        switch (label)
        {
            case "PRIVATE KEY": ec.ImportPkcs8PrivateKey(der, out _); break;
            case "EC PRIVATE KEY": ec.ImportECPrivateKey(der, out _); break;
            default: ec.ImportSubjectPublicKeyInfo(der, out _); break;
        }
        return FromEcdsa(algorithm, ec, isPrivate);
    }

    // The first PEM block that is not "EC PARAMETERS" (openssl ecparam -genkey writes those first). Bounded: the
    // file is at most FileBytesMax and each block consumes some of it.
    private static (string Label, byte[] Der) FirstKeyBlock(string option, string path, string text)
    {
        var rest = text.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var label = rest.Span[fields.Label].ToString();
            if (label != "EC PARAMETERS") return (label, Convert.FromBase64String(rest.Span[fields.Base64Data].ToString()));
            rest = rest[fields.Location.End..];
        }
        throw AuthTokenOptions.Fail($"{option} '{path}': no PEM key in the file");
    }

    /// <summary>
    /// RSA or ECDsa instances of one key, each used by one thread at a time. Bounded: at most <see cref="PooledMax"/>
    /// are kept (more may exist while many calls run at once; those are disposed when returned).
    /// </summary>
    private sealed class KeyPool(Func<AsymmetricAlgorithm> create)
    {
        public const int PooledMax = 16;

        private readonly System.Collections.Concurrent.ConcurrentQueue<AsymmetricAlgorithm> _idle = new();

        public AsymmetricAlgorithm Rent() => _idle.TryDequeue(out var key) ? key : create();

        public void Return(AsymmetricAlgorithm key)
        {
            if (_idle.Count < PooledMax) _idle.Enqueue(key);
            else key.Dispose();
        }
    }
}
