using RaftKv.Cli.Bench;

namespace RaftKv.Server.Auth;

/// <summary>
/// The parsed <c>--auth-token</c> flag, in etcd 3.4's syntax: <c>simple</c>, or <c>jwt,</c> followed by
/// comma-separated <c>key=value</c> options: <c>sign-method</c> (required; <see cref="JwtAlgorithm.Names"/>),
/// <c>priv-key</c> and <c>pub-key</c> (PEM files; HS methods take the shared secret as priv-key's bytes), <c>ttl</c>
/// (a Go duration, default 5m as etcd). Keys are read and checked here, so a bad flag stops <c>raftkv serve</c> at once.
/// </summary>
/// <remarks>
/// Stricter than etcd 3.4, on purpose: an unknown or repeated option, an empty value, <c>simple</c> with options,
/// pub-key with an HS method, a ttl of 0 or over <see cref="TtlMax"/>, and a key pair that does not match
/// (etcd's check compares the wrong way and passes most mismatches) are refused with a message naming the option.
/// </remarks>
public sealed class AuthTokenOptions
{
    /// <summary>The flag's name, which every message starts with.</summary>
    public const string Flag = "--auth-token";

    /// <summary>etcd's default JWT lifetime (auth/options.go DefaultTTL).</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromMinutes(5);

    /// <summary>The longest ttl accepted: a leaked token stays usable this long at most.</summary>
    public static readonly TimeSpan TtlMax = TimeSpan.FromHours(24);

    private const int OptionsMax = 8;
    private static readonly string[] Known = ["sign-method", "pub-key", "priv-key", "ttl"];

    private AuthTokenOptions(JwtKey? jwt, TimeSpan jwtTtl)
    {
        Jwt = jwt;
        JwtTtl = jwtTtl;
    }

    /// <summary>Simple tokens (etcd's default).</summary>
    public static AuthTokenOptions Simple { get; } = new(null, default);

    /// <summary>The JWT key; null for simple tokens.</summary>
    public JwtKey? Jwt { get; }

    /// <summary>How long a JWT this member issues is valid (zero for simple tokens).</summary>
    public TimeSpan JwtTtl { get; }

    /// <summary>Parses the flag's value and loads the key files it names.</summary>
    /// <exception cref="FormatException">The value is not valid; the message names the option and the problem.</exception>
    public static AuthTokenOptions Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',');
        var type = parts[0].Trim();
        if (type == "simple")
            return parts.Length == 1 ? Simple : throw Fail($"simple tokens take no options, was '{text}'");
        if (type != "jwt") throw Fail($"the token type must be 'simple' or 'jwt', was '{type}'");
        if (parts.Length - 1 > OptionsMax) throw Fail($"at most {OptionsMax} options, was {parts.Length - 1}");
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in parts.Skip(1))
        {
            var pair = part.Split('=');
            if (pair.Length != 2) throw Fail($"'{part}' is not key=value (example: jwt,sign-method=RS256,priv-key=PATH,pub-key=PATH,ttl=5m)");
            var (key, value) = (pair[0].Trim(), pair[1].Trim());
            if (!Known.Contains(key)) throw Fail($"unknown jwt option '{key}' (known: {string.Join(", ", Known)})");
            if (value.Length == 0) throw Fail($"{key} is empty");
            if (!options.TryAdd(key, value)) throw Fail($"{key} is given twice");
        }
        var method = Method(options.GetValueOrDefault("sign-method"));
        var ttl = Ttl(options.GetValueOrDefault("ttl"));
        var jwt = JwtKey.Load(method, options.GetValueOrDefault("pub-key"), options.GetValueOrDefault("priv-key"));
        return new AuthTokenOptions(jwt, ttl);
    }

    private static JwtAlgorithm Method(string? name)
    {
        if (name is null) throw Fail($"jwt needs sign-method (one of {JwtAlgorithm.Names})");
        if (name.Equals("none", StringComparison.OrdinalIgnoreCase)) throw Fail("sign-method 'none' is refused: unsigned tokens would let anyone be anyone");
        return JwtAlgorithm.Find(name) ?? throw Fail($"sign-method '{name}' is not one of {JwtAlgorithm.Names}");
    }

    private static TimeSpan Ttl(string? text)
    {
        if (text is null) return DefaultTtl;
        if (!DurationText.TryParse(text, out var ttl, out var error)) throw Fail($"ttl: {error}");
        if (ttl < TimeSpan.FromSeconds(1) || ttl > TtlMax) throw Fail($"ttl must be between 1s and {TtlMax.TotalHours:0}h, was '{text}'");
        return ttl;
    }

    internal static FormatException Fail(string problem) => new($"{Flag}: {problem}");
}
