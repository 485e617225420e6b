using RaftKv.Kv;

namespace RaftKv.Server.Auth;

/// <summary>
/// The identity of the client call in progress, set by <see cref="AuthInterceptor"/> for the call's whole
/// asynchronous flow, so the proposer stamps every command the call proposes (<see cref="Etcd.KvProposer"/>), the
/// ones the Lock and Election services build included, without each service passing it along. Null outside client
/// calls: the server's own commands (lease expiry, checkpoints, alarms) carry no identity.
/// </summary>
public static class AuthContext
{
    private static readonly AsyncLocal<CommandAuth?> CurrentIdentity = new();

    /// <summary>The identity of the current client call; null outside one.</summary>
    public static CommandAuth? Current
    {
        get => CurrentIdentity.Value;
        internal set => CurrentIdentity.Value = value;
    }
}
