using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Authpb;
using RaftKv.Kv.Mvcc;
using CommandCase = RaftKv.Kv.KvCommand.RequestOneofCase;

namespace RaftKv.Kv.Auth;

/// <summary>
/// Applies etcd's auth management commands to the auth record: total and pure (no clock, no randomness, no
/// hashing: the proposer hashed the password and chose the token), so every member reaches the same record. A
/// refused command changes nothing. Rules as etcd 3.4's auth store: the root user and role, revision moves on every
/// change and on disable but not on enable, permissions of a role kept in (key, range_end) order with a grant of the
/// same range replacing its type.
/// </summary>
internal static class AuthApplier
{
    /// <summary>Whether <paramref name="command"/> is one of the auth commands this applies.</summary>
    public static bool Handles(CommandCase command) => command is CommandCase.AuthEnable or CommandCase.AuthDisable or CommandCase.Authenticate
        or CommandCase.UserAdd or CommandCase.UserDelete or CommandCase.UserChangePassword or CommandCase.UserGrantRole or CommandCase.UserRevokeRole
        or CommandCase.RoleAdd or CommandCase.RoleDelete or CommandCase.RoleGrantPermission or CommandCase.RoleRevokePermission;

    public static KvError? Apply(IMvccState state, AuthState auth, KvCommand command, out IMessage? response)
    {
        response = null;
        var header = new ResponseHeader { Revision = state.CurrentRevision };
        var next = auth.Record.Clone();
        var error = command.RequestCase switch
        {
            CommandCase.AuthEnable => Enable(next),
            CommandCase.AuthDisable => Disable(next),
            CommandCase.Authenticate => Authenticate(auth, command.Authenticate, command.Auth),
            CommandCase.UserAdd => UserAdd(next, command.UserAdd),
            CommandCase.UserDelete => UserDelete(next, command.UserDelete.Name),
            CommandCase.UserChangePassword => ChangePassword(next, command.UserChangePassword),
            CommandCase.UserGrantRole => GrantRole(next, command.UserGrantRole.User, command.UserGrantRole.Role),
            CommandCase.UserRevokeRole => RevokeRole(next, command.UserRevokeRole.Name, command.UserRevokeRole.Role),
            CommandCase.RoleAdd => RoleAdd(next, command.RoleAdd.Name),
            CommandCase.RoleDelete => RoleDelete(next, command.RoleDelete.Role),
            CommandCase.RoleGrantPermission => GrantPermission(next, command.RoleGrantPermission),
            CommandCase.RoleRevokePermission => RevokePermission(next, command.RoleRevokePermission),
            _ => KvError.EmptyCommand,
        };
        if (error is not null)
        {
            return error;
        }

        if (command.RequestCase == CommandCase.Authenticate)
        {
            response = new AuthenticateResponse { Header = header, Token = command.Authenticate.Token };
            return null;
        }

        if (!next.Equals(auth.Record))
        {
            var bytes = next.ToByteArray();
            if (bytes.Length > KvStore.ClusterRecordMaxBytes)
            {
                return KvError.AuthStoreFull;
            }

            state.SetAuthRecord(bytes);
        }

        response = Response(command.RequestCase, header);
        return null;
    }

    private static IMessage Response(CommandCase command, ResponseHeader header) => command switch
    {
        CommandCase.AuthEnable => new AuthEnableResponse { Header = header },
        CommandCase.AuthDisable => new AuthDisableResponse { Header = header },
        CommandCase.UserAdd => new AuthUserAddResponse { Header = header },
        CommandCase.UserDelete => new AuthUserDeleteResponse { Header = header },
        CommandCase.UserChangePassword => new AuthUserChangePasswordResponse { Header = header },
        CommandCase.UserGrantRole => new AuthUserGrantRoleResponse { Header = header },
        CommandCase.UserRevokeRole => new AuthUserRevokeRoleResponse { Header = header },
        CommandCase.RoleAdd => new AuthRoleAddResponse { Header = header },
        CommandCase.RoleDelete => new AuthRoleDeleteResponse { Header = header },
        CommandCase.RoleGrantPermission => new AuthRoleGrantPermissionResponse { Header = header },
        _ => new AuthRoleRevokePermissionResponse { Header = header },
    };

    private static KvError? Enable(AuthRecord next)
    {
        if (next.Enabled)
        {
            return null;
        }

        var root = FindUser(next, AuthState.Root);
        if (root is null)
        {
            return KvError.RootUserNotExist;
        }

        if (!root.Roles.Contains(AuthState.Root))
        {
            return KvError.RootRoleNotExist;
        }

        next.Enabled = true; // etcd does not move the revision here
        return null;
    }

    private static KvError? Disable(AuthRecord next)
    {
        if (next.Enabled)
        {
            next.Enabled = false;
            next.Revision++;
        }

        return null;
    }

    // The proposer checked the password against the state it had; the user must still exist, unchanged since.
    private static KvError? Authenticate(AuthState auth, AuthenticateCommand request, CommandAuth? checkedAt)
    {
        if (!auth.Enabled)
        {
            return KvError.AuthNotEnabled;
        }

        if (request.Token.Length == 0 || auth.FindUser(request.Name) is null)
        {
            return KvError.AuthFailed;
        }

        return checkedAt is not null && checkedAt.Revision < auth.Revision ? KvError.AuthOldRevision : null;
    }

    private static KvError? UserAdd(AuthRecord next, AuthUserAddRequest request)
    {
        if (request.Name.Length == 0)
        {
            return KvError.UserEmpty;
        }

        if (FindUser(next, request.Name) is not null)
        {
            return KvError.UserAlreadyExist;
        }

        var user = new User
        {
            Name = ByteString.CopyFromUtf8(request.Name),
            Password = ByteString.CopyFromUtf8(request.HashedPassword), // never the password: the proposer cleared it
            Options = request.Options?.Clone() ?? new UserAddOptions(),
        };
        InsertSorted(next.Users, user, u => u.Name);
        next.Revision++;
        return null;
    }

    private static KvError? UserDelete(AuthRecord next, string name)
    {
        if (next.Enabled && name == AuthState.Root)
        {
            return KvError.InvalidAuthMgmt;
        }

        var user = FindUser(next, name);
        if (user is null)
        {
            return KvError.UserNotFound;
        }

        next.Users.Remove(user);
        next.Revision++;
        return null;
    }

    private static KvError? ChangePassword(AuthRecord next, AuthUserChangePasswordRequest request)
    {
        var user = FindUser(next, request.Name);
        if (user is null)
        {
            return KvError.UserNotFound;
        }

        user.Password = ByteString.CopyFromUtf8(request.HashedPassword);
        next.Revision++;
        return null;
    }

    private static KvError? GrantRole(AuthRecord next, string userName, string role)
    {
        var user = FindUser(next, userName);
        if (user is null)
        {
            return KvError.UserNotFound;
        }

        if (role != AuthState.Root && FindRole(next, role) is null)
        {
            return KvError.RoleNotFound;
        }

        if (user.Roles.Contains(role))
        {
            return null; // etcd ignores a second grant
        }

        var roles = user.Roles.Append(role).Order(StringComparer.Ordinal).ToList();
        user.Roles.Clear();
        user.Roles.AddRange(roles);
        next.Revision++;
        return null;
    }

    private static KvError? RevokeRole(AuthRecord next, string userName, string role)
    {
        if (next.Enabled && userName == AuthState.Root && role == AuthState.Root)
        {
            return KvError.InvalidAuthMgmt;
        }

        var user = FindUser(next, userName);
        if (user is null)
        {
            return KvError.UserNotFound;
        }

        if (!user.Roles.Remove(role))
        {
            return KvError.RoleNotGranted;
        }

        next.Revision++;
        return null;
    }

    private static KvError? RoleAdd(AuthRecord next, string name)
    {
        if (name.Length == 0)
        {
            return KvError.RoleEmpty;
        }

        if (FindRole(next, name) is not null)
        {
            return KvError.RoleAlreadyExist;
        }

        InsertSorted(next.Roles, new Role { Name = ByteString.CopyFromUtf8(name) }, r => r.Name);
        next.Revision++;
        return null;
    }

    private static KvError? RoleDelete(AuthRecord next, string name)
    {
        if (next.Enabled && name == AuthState.Root)
        {
            return KvError.InvalidAuthMgmt;
        }

        var role = FindRole(next, name);
        if (role is null)
        {
            return KvError.RoleNotFound;
        }

        next.Roles.Remove(role);
        foreach (var user in next.Users)
        {
            user.Roles.Remove(name);
        }

        next.Revision++;
        return null;
    }

    private static KvError? GrantPermission(AuthRecord next, AuthRoleGrantPermissionRequest request)
    {
        var role = FindRole(next, request.Name);
        if (role is null)
        {
            return KvError.RoleNotFound;
        }

        var perm = request.Perm ?? new Permission();
        if (perm.PermType is not (Permission.Types.Type.Read or Permission.Types.Type.Write or Permission.Types.Type.Readwrite))
        {
            return KvError.PermissionDenied; // an unknown type grants nothing (etcd's parser never sends one)
        }

        var same = role.KeyPermission.FirstOrDefault(p => p.Key == perm.Key && p.RangeEnd == perm.RangeEnd);
        if (same is not null)
        {
            same.PermType = perm.PermType;
        }
        else
        {
            var all = role.KeyPermission.Append(perm.Clone())
                .OrderBy(p => p.Key.ToByteArray(), ByteArrayOrder.Instance).ThenBy(p => p.RangeEnd.ToByteArray(), ByteArrayOrder.Instance).ToList();
            role.KeyPermission.Clear();
            role.KeyPermission.AddRange(all);
        }

        next.Revision++;
        return null;
    }

    private static KvError? RevokePermission(AuthRecord next, AuthRoleRevokePermissionRequest request)
    {
        var role = FindRole(next, request.Role);
        if (role is null)
        {
            return KvError.RoleNotFound;
        }

        var granted = role.KeyPermission.FirstOrDefault(p => p.Key == request.Key && p.RangeEnd == request.RangeEnd);
        if (granted is null)
        {
            return KvError.PermissionNotGranted;
        }

        role.KeyPermission.Remove(granted);
        next.Revision++;
        return null;
    }

    private static User? FindUser(AuthRecord record, string name) => record.Users.FirstOrDefault(u => u.Name.ToStringUtf8() == name);

    private static Role? FindRole(AuthRecord record, string name) => record.Roles.FirstOrDefault(r => r.Name.ToStringUtf8() == name);

    private static void InsertSorted<T>(Google.Protobuf.Collections.RepeatedField<T> items, T item, Func<T, ByteString> name)
    {
        var at = 0;
        while (at < items.Count && name(items[at]).Span.SequenceCompareTo(name(item).Span) < 0)
        {
            at++;
        }

        items.Insert(at, item);
    }

    private sealed class ByteArrayOrder : IComparer<byte[]>
    {
        public static readonly ByteArrayOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
