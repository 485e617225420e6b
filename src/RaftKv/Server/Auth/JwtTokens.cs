using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RaftKv.Server.Auth;

/// <summary>What a valid JWT says: who, at which auth revision it was issued, until when.</summary>
/// <param name="User">The "username" claim.</param>
/// <param name="Revision">The "revision" claim: the auth revision the token was issued at.</param>
/// <param name="ExpiresAtUnixSeconds">The "exp" claim.</param>
public readonly record struct JwtClaims(string User, ulong Revision, long ExpiresAtUnixSeconds);

/// <summary>
/// etcd's JWT auth tokens (<c>--auth-token jwt,...</c>): <c>base64url(header).base64url(claims).base64url(signature)</c>
/// with header <c>{"alg":..,"typ":"JWT"}</c> and claims <c>exp</c>, <c>revision</c>, <c>username</c>, as etcd 3.4
/// writes them, so a token one member (or an etcd with the same key) issued is accepted by any member holding the key,
/// after restarts too: nothing is stored.
/// </summary>
/// <remarks>
/// Validation refuses, without throwing: a token over <see cref="TokenCharsMax"/> (before any parsing), anything but
/// three base64url parts without padding, an "alg" other than the configured one ("none" and swapped methods
/// included), a "crit" header, a bad signature, a missing or past "exp", a future "nbf", a missing user or revision.
/// The revision is checked against the auth state by the caller (etcd's ErrAuthOldRevision), not here.
/// </remarks>
/// <param name="key">The configured key and method.</param>
/// <param name="ttl">How long an issued token is valid (the <c>ttl</c> option).</param>
/// <param name="time">The clock.</param>
public sealed class JwtTokens(JwtKey key, TimeSpan ttl, TimeProvider time)
{
    /// <summary>Longest token looked at; etcd's are about 400 (HS) to 1,200 (RS 4096) characters.</summary>
    public const int TokenCharsMax = 8 * 1024;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 4 };

    private readonly string _header = Encode(Encoding.UTF8.GetBytes($"{{\"alg\":\"{key.Algorithm.Name}\",\"typ\":\"JWT\"}}"));

    /// <summary>Whether this member can issue tokens (false with only a public key).</summary>
    public bool CanIssue => key.CanSign;

    /// <summary>The configured method.</summary>
    public JwtAlgorithm Algorithm => key.Algorithm;

    /// <summary>A signed token for <paramref name="user"/> at auth revision <paramref name="revision"/>, valid for the ttl from now.</summary>
    /// <exception cref="InvalidOperationException">Only a public key is loaded (<see cref="CanIssue"/>).</exception>
    public string Issue(string user, ulong revision)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            // etcd (Go's map encoding) writes the claims sorted by name.
            json.WriteStartObject();
            json.WriteNumber("exp", (time.GetUtcNow() + ttl).ToUnixTimeSeconds());
            json.WriteNumber("revision", revision);
            json.WriteString("username", user);
            json.WriteEndObject();
        }
        var signed = _header + "." + Encode(buffer.ToArray());
        return signed + "." + Encode(key.Sign(Encoding.ASCII.GetBytes(signed)));
    }

    /// <summary>The claims of <paramref name="token"/> when it is valid now; null otherwise. Never throws on any input.</summary>
    public JwtClaims? Validate(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > TokenCharsMax) return null;
        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first <= 0 || second <= first + 1 || second == token.Length - 1 || token.IndexOf('.', second + 1) >= 0) return null;
        if (!IsBase64Url(token.AsSpan(0, first)) || !IsBase64Url(token.AsSpan(first + 1, second - first - 1)) || !IsBase64Url(token.AsSpan(second + 1))) return null;
        try
        {
            if (!HeaderAccepted(Base64Url.DecodeFromChars(token.AsSpan(0, first)))) return null;
            var signature = Base64Url.DecodeFromChars(token.AsSpan(second + 1));
            if (!key.Verify(Encoding.ASCII.GetBytes(token, 0, second), signature)) return null;
            return Claims(Base64Url.DecodeFromChars(token.AsSpan(first + 1, second - first - 1)));
        }
        catch (Exception e) when (e is FormatException or JsonException or CryptographicException or InvalidOperationException)
        {
            return null; // undecodable base64 (a bad final quantum), JSON that is not JSON or has the wrong types
        }
    }

    private bool HeaderAccepted(byte[] header)
    {
        using var json = JsonDocument.Parse(header, JsonOptions);
        var root = json.RootElement;
        return root.ValueKind == JsonValueKind.Object
            && root.TryGetProperty("alg", out var alg) && alg.ValueKind == JsonValueKind.String && alg.ValueEquals(key.Algorithm.Name)
            && !root.TryGetProperty("crit", out _);
    }

    private JwtClaims? Claims(byte[] payload)
    {
        using var json = JsonDocument.Parse(payload, JsonOptions);
        var root = json.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return null;
        if (!root.TryGetProperty("username", out var user) || user.ValueKind != JsonValueKind.String || user.GetString() is not { Length: > 0 } name) return null;
        if (!root.TryGetProperty("revision", out var revision) || revision.ValueKind != JsonValueKind.Number || !revision.TryGetUInt64(out var rev)) return null;
        if (!root.TryGetProperty("exp", out var exp) || UnixSeconds(exp) is not { } expires) return null;
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (now >= expires) return null;
        if (root.TryGetProperty("nbf", out var nbf) && (UnixSeconds(nbf) is not { } notBefore || now < notBefore)) return null;
        return new JwtClaims(name, rev, expires);
    }

    // Go writes Unix seconds as an integer; other issuers may write a fraction.
    private static long? UnixSeconds(JsonElement value) =>
        value.ValueKind != JsonValueKind.Number ? null
        : value.TryGetInt64(out var seconds) ? seconds
        : value.TryGetDouble(out var d) && double.IsFinite(d) && Math.Abs(d) < 1e15 ? (long)Math.Floor(d) : null;

    // Strict RFC 7515 base64url: its alphabet only, no padding, no whitespace (which .NET's decoders would skip).
    private static bool IsBase64Url(ReadOnlySpan<char> part)
    {
        foreach (var c in part)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_')) return false;
        }
        return true;
    }

    private static string Encode(byte[] bytes) => Base64Url.EncodeToString(bytes);
}
