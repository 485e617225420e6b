using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using RaftKv.Kv;
using RaftKv.Server;
using RaftKv.Server.Auth;

namespace RaftKv.Http;

/// <summary>
/// The HTTP port (dashboard, JSON API, metrics) when auth is on: every request but the probes (/health, /livez,
/// /readyz, /version) needs HTTP Basic credentials of a user with the root role, else 401 with a Basic challenge
/// (so a browser asks) or 403 for another user. Kept small on purpose: the HTTP API has no per-key permissions, so
/// it is root's; its writes carry root's identity into the log like any client call's. A verified header is
/// remembered for a minute (PBKDF2 is slow on purpose) unless the user's password changes meanwhile.
/// </summary>
internal sealed class HttpBasicAuth(NodeContext node)
{
    private const int RememberedMax = 1_000;
    private static readonly TimeSpan RememberFor = TimeSpan.FromMinutes(1);
    private static readonly string[] Probes = ["/health", "/livez", "/readyz", "/version"];

    private readonly HashSet<int> _httpPorts = [.. node.Settings.ListenHttpUrls.Select(u => u.Port)];
    private readonly ConcurrentDictionary<string, (string User, string Hash, DateTimeOffset Until)> _remembered = new(StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var state = node.Auth.State;
        var path = context.Request.Path.Value ?? "";
        if (!state.Enabled || !_httpPorts.Contains(context.Connection.LocalPort) || Probes.Any(p => path.StartsWith(p, StringComparison.Ordinal)))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var user = Authenticate(context.Request.Headers.Authorization.ToString());
        if (user is null)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"raftkv\", charset=\"UTF-8\"";
            return;
        }
        if (!node.Auth.State.IsRoot(user))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        AuthContext.Current = new CommandAuth { User = user, Revision = state.Revision };
        await next(context).ConfigureAwait(false);
    }

    // The user a "Basic base64(user:password)" header proves; null when it proves nothing.
    private string? Authenticate(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(header))); // never the password itself
        var state = node.Auth.State;
        if (_remembered.TryGetValue(key, out var seen) && seen.Until > DateTimeOffset.UtcNow
            && state.FindUser(seen.User)?.Password.ToStringUtf8() == seen.Hash)
            return seen.User;
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
        }
        catch (FormatException)
        {
            return null;
        }
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0) return null;
        var (user, password) = (decoded[..colon], decoded[(colon + 1)..]);
        if (!node.Auth.CheckPassword(user, password)) return null;
        if (_remembered.Count >= RememberedMax) _remembered.Clear();
        _remembered[key] = (user, state.FindUser(user)?.Password.ToStringUtf8() ?? "", DateTimeOffset.UtcNow + RememberFor);
        return user;
    }
}
