using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Authpb;

namespace RaftKv.Kv.Tests.Auth;

/// <summary>Shorthands for auth commands and for commands proposed as a user.</summary>
internal static class AuthTestCommands
{
    public static KvCommand UserAdd(string name, string hash = "h") => new() { UserAdd = new AuthUserAddRequest { Name = name, HashedPassword = hash } };

    public static KvCommand RoleAdd(string name) => new() { RoleAdd = new AuthRoleAddRequest { Name = name } };

    public static KvCommand Grant(string user, string role) => new() { UserGrantRole = new AuthUserGrantRoleRequest { User = user, Role = role } };

    public static KvCommand Permit(string role, Permission.Types.Type type, string key, string? rangeEnd = null) => new()
    {
        RoleGrantPermission = new AuthRoleGrantPermissionRequest
        {
            Name = role,
            Perm = new Permission { PermType = type, Key = ByteString.CopyFromUtf8(key), RangeEnd = rangeEnd is null ? ByteString.Empty : ByteString.CopyFromUtf8(rangeEnd) },
        },
    };

    public static KvCommand Enable() => new() { AuthEnable = new AuthEnableRequest() };

    public static KvCommand Disable() => new() { AuthDisable = new AuthDisableRequest() };

    /// <summary><paramref name="command"/> as proposed by <paramref name="user"/>, checked at <paramref name="store"/>'s auth revision.</summary>
    public static KvCommand As(this KvCommand command, string user, KvStore store)
    {
        command.Auth = new CommandAuth { User = user, Revision = store.Auth.Revision };
        return command;
    }

    /// <summary>
    /// root (with the root role) and alice, whose role "app" may read and write the keys under "app/" and read "shared";
    /// then auth is enabled.
    /// </summary>
    public static void SetUpRootAndAlice(TestStore s)
    {
        foreach (var command in new[]
        {
            UserAdd("root"), Grant("root", "root"), UserAdd("alice"), RoleAdd("app"), Grant("alice", "app"),
            Permit("app", Permission.Types.Type.Readwrite, "app/", "app0"), Permit("app", Permission.Types.Type.Read, "shared"), Enable(),
        })
        {
            TestStore.Ok(s.Apply(command));
        }
    }
}
