using System.Buffers.Text;
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
/// <c>--auth-token jwt</c> on a 3-member raftkv (A and B with the RSA pair, C with only the public key): etcdctl
/// <c>--user</c> works; a token A issued is accepted by B and by C, which cannot issue (etcd's verify-only member);
/// a restarted member still accepts it (nothing stored); after a password change, or the user's deletion, the old
/// token is refused for key access with etcd 3.4's "revision of auth store is old" (the claim's revision is behind the
/// auth store's), and a token that is not a valid JWT with "invalid auth token".
/// </summary>
public sealed class JwtClusterTests : IDisposable
{
    private readonly JwtKeyFiles _keys = new();

    public void Dispose() => _keys.Dispose();

    private static async Task<RpcException?> FailureOf(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (RpcException e)
        {
            return e;
        }
    }

    private static Task<RpcException?> RangeFailure(GrpcChannel channel, string token, string key = "app/1") =>
        FailureOf(() => new KvClient(channel).RangeAsync(new RangeRequest { Key = B(key) }, As(token)).ResponseAsync);

    [Fact]
    public async Task JwtTokens_AcrossMembersRestartsAndAuthChanges()
    {
        var (priv, pub) = _keys.Rsa("jwt");
        await using var cluster = ProcessCluster.Create(3);
        var members = cluster.Members;
        members[0].ExtraArgs = [.. members[0].ExtraArgs, "--auth-token", $"jwt,pub-key={pub},priv-key={priv},sign-method=RS256,ttl=10m"];
        members[1].ExtraArgs = [.. members[1].ExtraArgs, "--auth-token", $"jwt,priv-key={priv},sign-method=RS256"];
        members[2].ExtraArgs = [.. members[2].ExtraArgs, "--auth-token", $"jwt,pub-key={pub},sign-method=RS256"];
        foreach (var m in members) m.Start();
        await cluster.WaitForLeaderAsync();
        using var a = GrpcChannel.ForAddress(members[0].ClientUrl);
        using var b = GrpcChannel.ForAddress(members[1].ClientUrl);
        using var c = GrpcChannel.ForAddress(members[2].ClientUrl);
        await AuthCalls.SetUpRootAndAliceAsync(a);

        // etcdctl authenticates and uses its token as with simple tokens.
        var endpoint = $"--endpoints=127.0.0.1:{members[0].ClientPort}";
        var environment = new Dictionary<string, string> { ["ETCDCTL_API"] = "3" };
        if (ExternalTools.Find("etcdctl") is null)
        {
            Assert.False(ExternalTools.InCi, ExternalTools.Missing("etcdctl", "etcd-client"));
        }
        else
        {
            var (putCode, putOutput) = await ExternalTools.RunAsync("etcdctl", [endpoint, "--user=alice:alicepw", "put", "app/1", "v1"], TimeSpan.FromSeconds(30), environment: environment);
            Assert.True(putCode == 0, putOutput);
            var (getCode, getOutput) = await ExternalTools.RunAsync("etcdctl", [endpoint, "--user=alice:alicepw", "get", "app/1", "--print-value-only"], TimeSpan.FromSeconds(30), environment: environment);
            Assert.Equal((0, "v1"), (getCode, getOutput.Trim()));
            var (deniedCode, deniedOutput) = await ExternalTools.RunAsync("etcdctl", [endpoint, "--user=alice:alicepw", "get", "secret"], TimeSpan.FromSeconds(30), environment: environment);
            Assert.Equal((1, "Error: etcdserver: permission denied"), (deniedCode, deniedOutput.Trim().Split('\n')[^1])); // after etcdctl's retry log lines
        }

        // A's token is a JWT (RS256) that B and the verify-only C accept: no member learnt it from the log.
        var alice = await TokenAsync(a, "alice", "alicepw");
        Assert.Equal(3, alice.Split('.').Length);
        Assert.StartsWith("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.", alice, StringComparison.Ordinal); // {"alg":"RS256","typ":"JWT"}
        await new KvClient(b).PutAsync(new PutRequest { Key = B("app/1"), Value = B("v2") }, As(alice));
        Assert.Equal("v2", (await new KvClient(c).RangeAsync(new RangeRequest { Key = B("app/1") }, As(alice))).Kvs.Single().Value.ToStringUtf8());
        Assert.Equal(StatusCode.PermissionDenied, (await RangeFailure(c, alice, "secret"))?.StatusCode);
        // B issues too; C refuses to (it has no private key), naming why.
        Assert.Null(await RangeFailure(a, await TokenAsync(b, "alice", "alicepw")));
        var verifyOnly = await FailureOf(() => TokenAsync(c, "alice", "alicepw"));
        Assert.Equal(StatusCode.FailedPrecondition, verifyOnly?.StatusCode);
        Assert.Contains("verify-only", verifyOnly!.Status.Detail, StringComparison.Ordinal);
        Assert.Equal((StatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password"),
            await FailureOf(() => TokenAsync(a, "alice", "wrong")) is { } e ? (e.StatusCode, e.Status.Detail) : default);
        // Not a JWT, or one with a forged signature: "invalid auth token", as etcd.
        var parts = alice.Split('.');
        var asRoot = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Replace("alice", "root", StringComparison.Ordinal)));
        foreach (var bad in new[] { "forged.1", $"{parts[0]}.{parts[1]}.{parts[2][..^4]}AAAA", $"{parts[0]}.{asRoot}.{parts[2]}" })
        {
            var invalid = await RangeFailure(b, bad);
            Assert.Equal((StatusCode.Unauthenticated, "etcdserver: invalid auth token"), (invalid?.StatusCode ?? StatusCode.OK, invalid?.Status.Detail));
        }

        // A restarted member accepts the token it never saw issued.
        await members[1].StopAsync();
        members[1].Start(); // (not WaitForLeaderAsync: with auth on, the status it polls needs root's HTTP credentials)
        await Poll.UntilAsync(async () => await RangeFailure(b, alice) is null, TimeSpan.FromSeconds(30), "the restarted member accepting the token", cluster.Diagnostics);

        // A password change moves the auth revision: the old token is refused for keys, as etcd 3.4 refuses it.
        var root = await TokenAsync(a, "root", "rootpw");
        await new AuthClient(a).UserChangePasswordAsync(new AuthUserChangePasswordRequest { Name = "alice", Password = "newpw" }, As(root));
        foreach (var member in new[] { a, b, c })
        {
            var old = await Poll.UntilAsync(async () => await RangeFailure(member, alice), TimeSpan.FromSeconds(30), "the old token refused", cluster.Diagnostics);
            Assert.Equal((StatusCode.InvalidArgument, "etcdserver: revision of auth store is old"), (old.StatusCode, old.Status.Detail));
        }
        Assert.Equal(StatusCode.InvalidArgument, (await FailureOf(() => new KvClient(b).PutAsync(new PutRequest { Key = B("app/1"), Value = B("x") }, As(alice)).ResponseAsync))?.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await FailureOf(() => TokenAsync(a, "alice", "alicepw")))?.StatusCode); // the old password

        // A new token works; once alice is deleted it is refused everywhere, and she cannot authenticate.
        var aliceAgain = await TokenAsync(b, "alice", "newpw");
        Assert.Null(await RangeFailure(c, aliceAgain));
        root = await TokenAsync(a, "root", "rootpw");
        await new AuthClient(a).UserDeleteAsync(new AuthUserDeleteRequest { Name = "alice" }, As(root));
        foreach (var member in new[] { a, b, c })
        {
            var gone = await Poll.UntilAsync(async () => await RangeFailure(member, aliceAgain), TimeSpan.FromSeconds(30), "a deleted user's token refused", cluster.Diagnostics);
            Assert.Equal("etcdserver: revision of auth store is old", gone.Status.Detail);
        }
        Assert.Equal(StatusCode.InvalidArgument, (await FailureOf(() => TokenAsync(b, "alice", "newpw")))?.StatusCode);
    }

    [Fact]
    public async Task BadAuthTokenFlag_StopsServeWithTheMessage()
    {
        var missing = Path.Combine(_keys.Dir, "missing.pem");
        await using var cluster = ProcessCluster.Create(1);
        var member = cluster.Members[0];
        member.ExtraArgs = [.. member.ExtraArgs, "--auth-token", $"jwt,sign-method=ES256,priv-key={missing}"];
        member.Start();
        Assert.Equal(2, await member.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"raftkv serve: --auth-token: priv-key '{missing}': no such file", member.OutputTail(), StringComparison.Ordinal);
    }

}
