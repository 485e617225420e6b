using Grpc.Core;
using Grpc.Core.Interceptors;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Kv.Auth;
using RaftKv.Server.Etcd;

namespace RaftKv.Server.Auth;

/// <summary>
/// Checks every etcd client call before its service runs and makes its identity the call's
/// <see cref="AuthContext.Current"/>, so the commands it proposes carry it into the log (checked again at apply).
/// Which calls need what, when auth is on (etcd 3.4's rules, and where raftkv is stricter, deliberately):
/// <list type="bullet">
/// <item>Open: Authenticate, AuthStatus, Maintenance.Status, the health service; the watch stream itself (each watch
/// is checked as it is created: read on its whole range). The peer services are not client calls.</item>
/// <item>Key permissions: Range, RangeStream, Put, DeleteRange, Txn (<see cref="AuthChecker"/>).</item>
/// <item>Root: the other Auth calls (UserGet and RoleGet also for oneself and one's roles, as etcd), Compact,
/// Alarm, member add/remove/update/promote, and Hash, HashKV, Defragment, Snapshot, MoveLeader (these with etcd 3.4's
/// raw "auth: ..." errors, code Unknown).</item>
/// <item>Any authenticated user: the Lease calls, MemberList, Lock and Election (whose writes are key-checked at apply).</item>
/// </list>
/// <para>Deliberate differences from etcd 3.4, which leaves them open to anyone: MemberList, Alarm and the Lease calls
/// need a token (Alarm root), and Compact needs root (etcd lets any user compact).</para>
/// </summary>
public sealed class AuthInterceptor(NodeContext node) : Interceptor
{
    private enum Need { None, Open, Keys, User, Root, MaintenanceRoot }

    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context, request);
        return await continuation(request, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context, request);
        await continuation(request, responseStream, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit<object?>(context, null);
        return await continuation(requestStream, context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit<object?>(context, null);
        await continuation(requestStream, responseStream, context).ConfigureAwait(false);
    }

    // Sets the identity for the rest of the call (AsyncLocal: it flows into the continuation, and is gone when the
    // call returns), or throws etcd's error.
    private void Admit<TRequest>(ServerCallContext context, TRequest request)
    {
        ArgumentNullException.ThrowIfNull(context);
        var need = NeedOf(context.Method);
        if (need == Need.None) return;
        CommandAuth identity;
        try
        {
            identity = node.Auth.Identify(context);
        }
        catch (RpcException) when (need == Need.Open)
        {
            // A stale token must not keep a client from authenticating again; a watch with one is refused per
            // create (permission denied), as etcd 3.4 answers it.
            identity = new CommandAuth { Revision = node.Auth.State.Revision };
        }
        AuthContext.Current = identity;
        var state = node.Auth.State;
        if (!state.Enabled || need == Need.Open) return;
        var refusal = need switch
        {
            Need.Keys => KeyRefusal(state, identity, request),
            Need.User => identity.User.Length == 0 ? KvError.UserEmpty : state.FindUser(identity.User) is null ? KvError.PermissionDenied : null,
            Need.Root => identity.User.Length == 0 ? KvError.UserEmpty : state.IsRoot(identity.User) ? null : SelfService(state, identity.User, request),
            _ => identity.User.Length == 0 ? KvError.MaintenanceUserEmpty : state.IsRoot(identity.User) ? null : KvError.MaintenancePermissionDenied,
        };
        if (refusal is not null) throw EtcdErrors.From(refusal);
    }

    private static KvError? KeyRefusal<TRequest>(AuthState state, CommandAuth identity, TRequest request)
    {
        var command = request switch
        {
            RangeRequest range => new KvCommand { Range = range },
            PutRequest put => new KvCommand { Put = put },
            DeleteRangeRequest delete => new KvCommand { DeleteRange = delete },
            TxnRequest txn => new KvCommand { Txn = txn },
            _ => null,
        };
        return command is null ? KvError.PermissionDenied : AuthChecker.Check(state, identity, command);
    }

    // etcd lets a user read their own user and the roles they have.
    private static KvError? SelfService<TRequest>(AuthState state, string user, TRequest request) => request switch
    {
        AuthUserGetRequest get when get.Name == user => null,
        AuthRoleGetRequest get when state.FindUser(user) is { } u && u.Roles.Contains(get.Role) => null,
        _ => KvError.PermissionDenied,
    };

    private static Need NeedOf(string method) => method switch
    {
        "/etcdserverpb.Auth/Authenticate" or "/etcdserverpb.Auth/AuthStatus" or "/etcdserverpb.Maintenance/Status" or "/etcdserverpb.Watch/Watch" => Need.Open,
        "/etcdserverpb.KV/Range" or "/etcdserverpb.KV/RangeStream" or "/etcdserverpb.KV/Put" or "/etcdserverpb.KV/DeleteRange" or "/etcdserverpb.KV/Txn" => Need.Keys,
        "/etcdserverpb.KV/Compact" or "/etcdserverpb.Maintenance/Alarm" => Need.Root,
        "/etcdserverpb.Cluster/MemberList" => Need.User,
        _ when method.StartsWith("/etcdserverpb.Auth/", StringComparison.Ordinal) => Need.Root,
        _ when method.StartsWith("/etcdserverpb.Cluster/", StringComparison.Ordinal) => Need.Root,
        _ when method.StartsWith("/etcdserverpb.Maintenance/", StringComparison.Ordinal) => Need.MaintenanceRoot,
        _ when method.StartsWith("/etcdserverpb.Lease/", StringComparison.Ordinal) => Need.User,
        _ when method.StartsWith("/v3lockpb.Lock/", StringComparison.Ordinal) || method.StartsWith("/v3electionpb.Election/", StringComparison.Ordinal) => Need.User,
        _ when method.StartsWith("/etcdserverpb.", StringComparison.Ordinal) => Need.Root, // a call added later is closed until decided
        _ => Need.None, // health, the peer services
    };
}
