using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Server.Etcd;

namespace RaftKv.Server.Auth;

/// <summary>
/// etcd's Auth service. Changes go through the log as auth commands (passwords hashed here, on the proposer);
/// Authenticate checks the password here and then puts the new simple token through the log, so every member learns
/// it (a JWT needs no entry: any member holding the key verifies it);
/// reads (status, users, roles) are served from this member's state after a read barrier. Who may call what is
/// <see cref="AuthInterceptor"/>'s.
/// </summary>
public sealed class AuthService(NodeContext node) : RaftKv.Etcd.Api.Auth.AuthBase
{
    public override Task<AuthEnableResponse> AuthEnable(AuthEnableRequest request, ServerCallContext context) =>
        ProposeAsync(new KvCommand { AuthEnable = request }, AuthEnableResponse.Parser, context);

    public override Task<AuthDisableResponse> AuthDisable(AuthDisableRequest request, ServerCallContext context) =>
        ProposeAsync(new KvCommand { AuthDisable = request }, AuthDisableResponse.Parser, context);

    public override async Task<AuthStatusResponse> AuthStatus(AuthStatusRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await node.Proposer.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
        var state = node.Auth.State;
        return new AuthStatusResponse { Header = node.Header(), Enabled = state.Enabled, AuthRevision = state.Revision };
    }

    public override async Task<AuthenticateResponse> Authenticate(AuthenticateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (node.Auth.Jwt is { } jwt) return await AuthenticateJwtAsync(jwt, request, context).ConfigureAwait(false);
        var state = node.Auth.State;
        if (!state.Enabled) throw EtcdErrors.From(KvError.AuthNotEnabled);
        // The hash is checked off the loop, against this member's state; the apply checks the user still exists,
        // unchanged since (the revision), and every member then learns the token.
        if (!node.Auth.CheckPassword(request.Name, request.Password)) throw EtcdErrors.From(KvError.AuthFailed);
        var command = new KvCommand
        {
            Authenticate = new AuthenticateCommand { Name = request.Name, Token = node.Auth.Tokens.NewToken() },
            Auth = new CommandAuth { Revision = state.Revision },
        };
        // Tokens are checked against this member's table without a barrier; a forwarded proposal returns only once
        // this member applied its entry too (KvProposer), so the client's next call here finds the token.
        return await ProposeAsync(command, AuthenticateResponse.Parser, context).ConfigureAwait(false);
    }

    // A JWT is stateless: the other members have nothing to learn, so no log entry (etcd 3.4 still sends one, and
    // every member signs a token of its own that only the proposer hands out). The barrier first makes the password
    // check and the revision claim those of a state at least as new as the call, as the entry would; the revision is
    // read before the check, so a change racing with it can only make the token old (refused), never too new.
    private async Task<AuthenticateResponse> AuthenticateJwtAsync(JwtTokens jwt, AuthenticateRequest request, ServerCallContext context)
    {
        if (!jwt.CanIssue)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                "auth: token signing attempted with verify-only key (this member has --auth-token pub-key only; authenticate at a member with priv-key)"));
        }
        await BarrierAsync(context).ConfigureAwait(false);
        var state = node.Auth.State;
        if (!state.Enabled) throw EtcdErrors.From(KvError.AuthNotEnabled);
        if (!node.Auth.CheckPassword(request.Name, request.Password)) throw EtcdErrors.From(KvError.AuthFailed);
        return new AuthenticateResponse { Header = node.Header(), Token = jwt.Issue(request.Name, state.Revision) };
    }

    public override Task<AuthUserAddResponse> UserAdd(AuthUserAddRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hashed = request.Clone();
        hashed.HashedPassword = HashOf(request.Password, request.HashedPassword, request.Options?.NoPassword == true);
        hashed.Password = "";
        return ProposeAsync(new KvCommand { UserAdd = hashed }, AuthUserAddResponse.Parser, context);
    }

    public override Task<AuthUserChangePasswordResponse> UserChangePassword(AuthUserChangePasswordRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hashed = request.Clone();
        hashed.HashedPassword = HashOf(request.Password, request.HashedPassword, noPassword: false);
        hashed.Password = "";
        return ProposeAsync(new KvCommand { UserChangePassword = hashed }, AuthUserChangePasswordResponse.Parser, context);
    }

    public override Task<AuthUserDeleteResponse> UserDelete(AuthUserDeleteRequest request, ServerCallContext context) =>
        ProposeAsync(new KvCommand { UserDelete = request }, AuthUserDeleteResponse.Parser, context);

    public override Task<AuthUserGrantRoleResponse> UserGrantRole(AuthUserGrantRoleRequest request, ServerCallContext context) =>
        ProposeAsync(new KvCommand { UserGrantRole = request }, AuthUserGrantRoleResponse.Parser, context);

    public override Task<AuthUserRevokeRoleResponse> UserRevokeRole(AuthUserRevokeRoleRequest request, ServerCallContext context) =>
        ProposeAsync(new KvCommand { UserRevokeRole = request }, AuthUserRevokeRoleResponse.Parser, context);

    public override Task<AuthRoleAddResponse> RoleAdd(AuthRoleAddRequest request, ServerCallContext context) =>
        ProposeAsync(new KvCommand { RoleAdd = request }, AuthRoleAddResponse.Parser, context);

    public override Task<AuthRoleDeleteResponse> RoleDelete(AuthRoleDeleteRequest request, ServerCallContext context) =>
        ProposeAsync(new KvCommand { RoleDelete = request }, AuthRoleDeleteResponse.Parser, context);

    public override Task<AuthRoleGrantPermissionResponse> RoleGrantPermission(AuthRoleGrantPermissionRequest request, ServerCallContext context) =>
        ProposeAsync(new KvCommand { RoleGrantPermission = request }, AuthRoleGrantPermissionResponse.Parser, context);

    public override Task<AuthRoleRevokePermissionResponse> RoleRevokePermission(AuthRoleRevokePermissionRequest request, ServerCallContext context) =>
        ProposeAsync(new KvCommand { RoleRevokePermission = request }, AuthRoleRevokePermissionResponse.Parser, context);

    public override async Task<AuthUserGetResponse> UserGet(AuthUserGetRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        await BarrierAsync(context).ConfigureAwait(false);
        var user = node.Auth.State.FindUser(request.Name) ?? throw EtcdErrors.From(KvError.UserNotFound);
        return new AuthUserGetResponse { Header = node.Header(), Roles = { user.Roles } };
    }

    public override async Task<AuthUserListResponse> UserList(AuthUserListRequest request, ServerCallContext context)
    {
        await BarrierAsync(context).ConfigureAwait(false);
        return new AuthUserListResponse { Header = node.Header(), Users = { node.Auth.State.UserNames } };
    }

    public override async Task<AuthRoleGetResponse> RoleGet(AuthRoleGetRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        await BarrierAsync(context).ConfigureAwait(false);
        var role = node.Auth.State.FindRole(request.Role) ?? throw EtcdErrors.From(KvError.RoleNotFound);
        return new AuthRoleGetResponse { Header = node.Header(), Perm = { role.KeyPermission.Select(p => p.Clone()) } };
    }

    public override async Task<AuthRoleListResponse> RoleList(AuthRoleListRequest request, ServerCallContext context)
    {
        await BarrierAsync(context).ConfigureAwait(false);
        return new AuthRoleListResponse { Header = node.Header(), Roles = { node.Auth.State.RoleNames } };
    }

    // A hash given by the client (etcd 3.5's bcrypt) cannot be checked here: refused rather than stored unusable.
    private static string HashOf(string password, string clientHash, bool noPassword)
    {
        if (noPassword) return "";
        if (password.Length == 0 && clientHash.Length > 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "raftkv: hashed passwords are not supported; send the password"));
        return PasswordHasher.Hash(password);
    }

    private Task BarrierAsync(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return node.Proposer.ReadBarrierAsync(context.CancellationToken);
    }

    private async Task<T> ProposeAsync<T>(KvCommand command, Google.Protobuf.MessageParser<T> parser, ServerCallContext context)
        where T : Google.Protobuf.IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = (T)await node.Proposer.ProposeAsync(command, parser, context.CancellationToken).ConfigureAwait(false);
        var header = response.Descriptor.FindFieldByName("header")?.Accessor.GetValue(response) as ResponseHeader;
        if (header is not null) node.Header(header);
        return response;
    }
}
