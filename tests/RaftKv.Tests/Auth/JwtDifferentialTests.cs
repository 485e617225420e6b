using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Tests.Infrastructure;
using RaftKv.Tests.Server.Auth;
using AuthClient = RaftKv.Etcd.Api.Auth.AuthClient;
using KvClient = RaftKv.Etcd.Api.KV.KVClient;

using static RaftKv.Tests.Auth.AuthCalls;

namespace RaftKv.Tests.Auth;

/// <summary>
/// A real etcd 3.4 (Debian etcd-server) and a single-member raftkv, both with <c>--auth-token jwt</c> and the same
/// key, set up by the same auth calls. etcd's auth revision is then one ahead (it starts at 1, raftkv at 0: a known
/// difference); once one more change on raftkv evens them, each accepts the other's tokens (same header, same
/// "username" and "revision" claims), after the same auth change both refuse the old tokens with the same error, and
/// both refuse a forged one alike. One case per key family.
/// </summary>
public sealed class JwtDifferentialTests : IDisposable
{
    private readonly JwtKeyFiles _keys = new();

    public void Dispose() => _keys.Dispose();

    private string TokenFlag(string method)
    {
        switch (method[..2])
        {
            case "HS":
                return $"jwt,priv-key={_keys.Write("secret", RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 64))},sign-method={method}";
            case "ES":
                var (ecPriv, ecPub) = _keys.Ec("ec", ECCurve.NamedCurves.nistP256);
                return $"jwt,pub-key={ecPub},priv-key={ecPriv},sign-method={method}";
            default:
                var (priv, pub) = _keys.Rsa("rsa");
                return $"jwt,pub-key={pub},priv-key={priv},sign-method={method}";
        }
    }

    // The code and message of a call, or "OK".
    private static async Task<string> Outcome(Func<Task> call)
    {
        try
        {
            await call();
            return "OK";
        }
        catch (RpcException e)
        {
            return $"{e.StatusCode}: {e.Status.Detail}";
        }
    }

    private static async Task<string> TokenAsync(GrpcChannel channel) =>
        (await new AuthClient(channel).AuthenticateAsync(new AuthenticateRequest { Name = "root", Password = "rootpw" }, As(null))).Token;

    private static Task<string> PutOutcome(GrpcChannel channel, string token) =>
        Outcome(() => new KvClient(channel).PutAsync(new PutRequest { Key = B("k"), Value = B("v") }, As(token)).ResponseAsync);

    private static ulong Revision(string token) =>
        System.Text.Json.JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1])).RootElement.GetProperty("revision").GetUInt64();

    // The token's header and claims but "exp" (each server stamps its own clock).
    private static string Describe(string token)
    {
        var parts = token.Split('.');
        var claims = System.Text.Json.JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement;
        return $"{Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[0]))} username={claims.GetProperty("username")} revision={claims.GetProperty("revision")}";
    }

    [EtcdServerFact]
    public Task Rs256_TokensOfEitherServer_AreAcceptedByTheOther() => SameTokensAsync("RS256");

    [EtcdServerFact]
    public Task Ps384_TokensOfEitherServer_AreAcceptedByTheOther() => SameTokensAsync("PS384");

    [EtcdServerFact]
    public Task Es256_TokensOfEitherServer_AreAcceptedByTheOther() => SameTokensAsync("ES256");

    [EtcdServerFact]
    public Task Hs256_TokensOfEitherServer_AreAcceptedByTheOther() => SameTokensAsync("HS256");

    private async Task SameTokensAsync(string method)
    {
        var flag = TokenFlag(method);
        await using var etcd = EtcdProcess.Start("--auth-token", flag);
        await using var cluster = ProcessCluster.Create(1);
        cluster.Members[0].ExtraArgs = [.. cluster.Members[0].ExtraArgs, "--auth-token", flag];
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        using (var reference = new dotnet_etcd.EtcdClient(etcd.ClientUrl)) await Differential.WaitForEtcdAsync(etcd, reference);
        using var e = GrpcChannel.ForAddress(etcd.ClientUrl);
        using var r = GrpcChannel.ForAddress(cluster.Members[0].ClientUrl);
        foreach (var channel in new[] { e, r })
        {
            var auth = new AuthClient(channel);
            await auth.UserAddAsync(new AuthUserAddRequest { Name = "root", Password = "rootpw" }, As(null));
            await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "root", Role = "root" }, As(null));
            await auth.AuthEnableAsync(new AuthEnableRequest(), As(null));
        }
        // etcd 3.4 has no AuthStatus: the tokens' revision claims show the auth revisions. A known difference: etcd's
        // auth store starts at revision 1 (NewAuthStore commits one on a new backend), raftkv's at 0, so after the same
        // changes etcd's is one ahead. raftkv accepts etcd's token (its claim is not behind), etcd refuses raftkv's.
        var fromEtcd = await TokenAsync(e);
        var first = await TokenAsync(r);
        Assert.Equal(Revision(first) + 1, Revision(fromEtcd));
        Assert.Equal(("OK", "InvalidArgument: etcdserver: revision of auth store is old"), (await PutOutcome(r, fromEtcd), await PutOutcome(e, first)));
        // One more change on raftkv alone evens the revisions; from there on the tokens are interchangeable.
        await new AuthClient(r).RoleAddAsync(new AuthRoleAddRequest { Name = "even" }, As(first));
        var fromRaftKv = await TokenAsync(r);
        Assert.Equal(Describe(fromEtcd), Describe(fromRaftKv));
        Assert.Equal(("OK", "OK"), (await PutOutcome(r, fromEtcd), await PutOutcome(e, fromRaftKv)));

        // The same change on both moves the revision past both tokens: both servers refuse both, alike.
        foreach (var (channel, token) in new[] { (e, fromEtcd), (r, fromRaftKv) })
            await new AuthClient(channel).UserAddAsync(new AuthUserAddRequest { Name = "bob", Password = "bobpw" }, As(token));
        var expected = await PutOutcome(e, fromEtcd);
        Assert.Equal("InvalidArgument: etcdserver: revision of auth store is old", expected);
        Assert.Equal([expected, expected, expected], [await PutOutcome(e, fromRaftKv), await PutOutcome(r, fromEtcd), await PutOutcome(r, fromRaftKv)]);

        // A fresh token works on both again; one with a forged claim is invalid on both.
        var fresh = await TokenAsync(r);
        Assert.Equal(("OK", "OK"), (await PutOutcome(e, fresh), await PutOutcome(r, fresh)));
        var parts = fresh.Split('.');
        var forged = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Replace("root", "bob", StringComparison.Ordinal)))}.{parts[2]}";
        var invalid = await PutOutcome(e, forged);
        Assert.Equal("Unauthenticated: etcdserver: invalid auth token", invalid);
        Assert.Equal(invalid, await PutOutcome(r, forged));
    }
}
