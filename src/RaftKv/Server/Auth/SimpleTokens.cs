using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace RaftKv.Server.Auth;

/// <summary>
/// etcd's simple tokens: random strings handed out by Authenticate, learnt by every member from the applied entry
/// (so any member accepts them), valid for a TTL that each use renews (etcd's <c>--auth-token-ttl</c>, 300 s), per
/// member and never persisted: a restarted member has none, and clients authenticate again, as with etcd. A token
/// also dies when its user is deleted or changes password, and all die when auth is disabled.
/// </summary>
/// <param name="ttl">How long an unused token lives.</param>
/// <param name="time">The clock.</param>
public sealed class SimpleTokens(TimeSpan ttl, TimeProvider time)
{
    /// <summary>Most tokens one member keeps: at the bound, expired ones go first, then the oldest.</summary>
    public const int TokensMax = 100_000;

    private const string Letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    private readonly ConcurrentDictionary<string, Entry> _tokens = new(StringComparer.Ordinal);
    private long _issued;

    /// <summary>How many tokens are held.</summary>
    public int Count => _tokens.Count;

    /// <summary>A new random token (etcd's form: 16 letters, a dot, a counter); not valid until <see cref="Add"/>.</summary>
    public string NewToken() => RandomNumberGenerator.GetString(Letters, 16) + "." + Interlocked.Increment(ref _issued);

    /// <summary>Makes <paramref name="token"/> stand for <paramref name="user"/>, whose stored password hash is <paramref name="passwordHash"/>.</summary>
    public void Add(string token, string user, string passwordHash)
    {
        if (_tokens.Count >= TokensMax) Trim();
        _tokens[token] = new Entry(user, passwordHash, time.GetUtcNow() + ttl);
    }

    /// <summary>
    /// The user <paramref name="token"/> stands for, its TTL renewed; null when unknown or expired, or when the user
    /// is gone or has another password now (<paramref name="currentHash"/> gives the user's hash, null when gone).
    /// </summary>
    public string? Resolve(string token, Func<string, string?> currentHash)
    {
        ArgumentNullException.ThrowIfNull(currentHash);
        if (!_tokens.TryGetValue(token, out var entry)) return null;
        var now = time.GetUtcNow();
        if (entry.ExpiresAt <= now || currentHash(entry.User) != entry.PasswordHash)
        {
            _tokens.TryRemove(token, out _);
            return null;
        }
        _tokens[token] = entry with { ExpiresAt = now + ttl };
        return entry.User;
    }

    /// <summary>Forgets every token (auth was disabled).</summary>
    public void Clear() => _tokens.Clear();

    // Bounded: one pass over at most TokensMax entries.
    private void Trim()
    {
        var now = time.GetUtcNow();
        foreach (var (token, entry) in _tokens)
        {
            if (entry.ExpiresAt <= now) _tokens.TryRemove(token, out _);
        }
        if (_tokens.Count < TokensMax) return;
        foreach (var (token, _) in _tokens.OrderBy(p => p.Value.ExpiresAt).Take(_tokens.Count - TokensMax + 1))
        {
            _tokens.TryRemove(token, out _);
        }
    }

    private sealed record Entry(string User, string PasswordHash, DateTimeOffset ExpiresAt);
}
