using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Authpb;
using AuthClient = RaftKv.Etcd.Api.Auth.AuthClient;
using KvClient = RaftKv.Etcd.Api.KV.KVClient;

namespace RaftKv.Tests.Auth;

/// <summary>What the auth tests share: calls with a token, and the users they set up before enabling auth.</summary>
internal static class AuthCalls
{
    /// <summary>A key or value as the protobuf bytes of its UTF-8 text.</summary>
    public static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    /// <summary>Call options carrying <paramref name="token"/> (none when null), bounded to 15 s.</summary>
    public static CallOptions As(string? token) =>
        new(headers: token is null ? null : new Metadata { { "token", token } }, deadline: DateTime.UtcNow.AddSeconds(15));

    /// <summary>A token for <paramref name="user"/>.</summary>
    public static async Task<string> TokenAsync(GrpcChannel channel, string user, string password) =>
        (await new AuthClient(channel).AuthenticateAsync(new AuthenticateRequest { Name = user, Password = password }, As(null))).Token;

    /// <summary>
    /// root (password rootpw, role root) and alice (alicepw, role app: read and write "app/" keys), a key "secret"
    /// alice may not read; then auth on.
    /// </summary>
    public static async Task SetUpRootAndAliceAsync(GrpcChannel channel)
    {
        var auth = new AuthClient(channel);
        await auth.UserAddAsync(new AuthUserAddRequest { Name = "root", Password = "rootpw" }, As(null));
        await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "root", Role = "root" }, As(null));
        await auth.UserAddAsync(new AuthUserAddRequest { Name = "alice", Password = "alicepw" }, As(null));
        await auth.RoleAddAsync(new AuthRoleAddRequest { Name = "app" }, As(null));
        await auth.RoleGrantPermissionAsync(new AuthRoleGrantPermissionRequest
        {
            Name = "app",
            Perm = new Permission { PermType = Permission.Types.Type.Readwrite, Key = ByteString.CopyFromUtf8("app/"), RangeEnd = ByteString.CopyFromUtf8("app0") },
        }, As(null));
        await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "alice", Role = "app" }, As(null));
        await new KvClient(channel).PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("secret"), Value = ByteString.CopyFromUtf8("s") }, As(null));
        await auth.AuthEnableAsync(new AuthEnableRequest(), As(null));
    }
}
