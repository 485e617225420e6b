using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Kv.Auth;
using RaftKv.Server.Etcd;

namespace RaftKv.Server.Auth;

/// <summary>
/// One member's side of authentication: resolves who a call is (a simple token, or a JWT when <c>--auth-token jwt</c>
/// configured <paramref name="jwt"/>, from the <c>token</c> or <c>authorization</c> metadata, else the common name of
/// the client certificate once TLS provides one), and learns the simple tokens applied entries hand out. The permissions themselves are the replicated state's
/// (<see cref="KvStore.Auth"/>), checked by <see cref="AuthChecker"/> here and again at apply.
/// </summary>
public sealed class AuthGate(KvStore store, SimpleTokens tokens, JwtTokens? jwt = null)
{
    /// <summary>The metadata key etcd's clients send their token under.</summary>
    public const string TokenKey = "token";

    /// <summary>The metadata key etcd's JSON gateway forwards the HTTP Authorization header as.</summary>
    public const string AuthorizationKey = "authorization";

    /// <summary>The auth state as of the last applied entry.</summary>
    public AuthState State => store.Auth;

    /// <summary>This member's tokens.</summary>
    public SimpleTokens Tokens { get; } = tokens;

    /// <summary>The JWT issuer and verifier; null with simple tokens.</summary>
    public JwtTokens? Jwt { get; } = jwt;

    /// <summary>Called with every applied entry's result (apply thread): learns issued tokens, forgets them all on disable.</summary>
    public void OnApplied(ApplyResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Response is AuthenticateResponse authenticated && result.AuthenticatedUser is { } user)
            Tokens.Add(authenticated.Token, user, PasswordHashOf(State, user) ?? "");
        else if (result.Response is AuthDisableResponse)
            Tokens.Clear();
    }

    /// <summary>
    /// The identity of a call: its user (empty when it brings no credentials or auth is off) at the current auth
    /// revision, or for a JWT at the revision it was issued at, so a token older than the last auth change is refused
    /// where etcd refuses it ("revision of auth store is old": key access, and every proposal here).
    /// </summary>
    /// <exception cref="RpcException">Unauthenticated "invalid auth token": auth is on and the token is unknown or expired.</exception>
    public CommandAuth Identify(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var state = State;
        var identity = new CommandAuth { Revision = state.Revision };
        if (!state.Enabled) return identity; // as etcd: tokens are not even looked at
        var token = context.RequestHeaders.GetValue(TokenKey) ?? context.RequestHeaders.GetValue(AuthorizationKey);
        if (!string.IsNullOrEmpty(token) && Jwt is not null)
        {
            var claims = Jwt.Validate(token) ?? throw EtcdErrors.From(KvError.InvalidAuthToken);
            identity.User = claims.User;
            identity.Revision = claims.Revision;
            return identity;
        }
        if (!string.IsNullOrEmpty(token))
        {
            identity.User = Tokens.Resolve(token, user => PasswordHashOf(State, user)) ?? throw EtcdErrors.From(KvError.InvalidAuthToken);
            return identity;
        }
        identity.User = CertificateUser(context) ?? "";
        return identity;
    }

    /// <summary>Checks a user name and password against the current state; the user on success.</summary>
    public bool CheckPassword(string user, string password) =>
        State.FindUser(user) is { } found && PasswordHasher.Verify(password, found.Password.ToStringUtf8());

    // The pluggable part for TLS: the client certificate's common name, when the connection has one.
    private static string? CertificateUser(ServerCallContext context)
    {
        var certificate = context.GetHttpContext()?.Connection.ClientCertificate;
        var name = certificate?.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return string.IsNullOrEmpty(name) ? null : name;
    }

    private static string? PasswordHashOf(AuthState state, string user) => state.FindUser(user)?.Password.ToStringUtf8();
}
