using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Authpb;
using RaftKv.Tests.Infrastructure;
using AuthClient = RaftKv.Etcd.Api.Auth.AuthClient;
using ClusterClient = RaftKv.Etcd.Api.Cluster.ClusterClient;
using KvClient = RaftKv.Etcd.Api.KV.KVClient;
using LeaseClient = RaftKv.Etcd.Api.Lease.LeaseClient;
using MaintenanceClient = RaftKv.Etcd.Api.Maintenance.MaintenanceClient;
using WatchClient = RaftKv.Etcd.Api.Watch.WatchClient;

using static RaftKv.Tests.Auth.AuthCalls;

namespace RaftKv.Tests.Auth;

/// <summary>
/// Auth on a 3-member raftkv over the gRPC API: each of the 2026 bypass classes refused end to end (nested txn ops,
/// prev_kv, lease attach in a txn, watches "from key" or over everything, and member list, alarm and lease calls
/// without a token), a token issued by one member accepted by the others (it went through the log), the auth state
/// kept by a restarted member, HashKV equal on every member afterwards, and the HTTP API closed to all but root. alice may read and write "app/" keys.
/// </summary>
public sealed class AuthClusterTests
{
    private static async Task<StatusCode> CodeOf(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    // The first response to one watch create: created and, when refused, cancelled with the reason.
    private static async Task<WatchResponse> CreateWatchAsync(GrpcChannel channel, string token, WatchCreateRequest create)
    {
        using var call = new WatchClient(channel).Watch(As(token));
        await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = create });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return call.ResponseStream.Current;
    }

    [Fact]
    public async Task BypassClassesAreRefusedAndTheStateIsTheSameOnEveryMember()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var members = cluster.Members;
        using var first = GrpcChannel.ForAddress(members[0].ClientUrl);
        using var second = GrpcChannel.ForAddress(members[1].ClientUrl);
        await AuthCalls.SetUpRootAndAliceAsync(first);
        var alice = await TokenAsync(first, "alice", "alicepw");
        var kv = new KvClient(second); // the token came from another member: it was learnt from the log

        await kv.PutAsync(new PutRequest { Key = B("app/1"), Value = B("v") }, As(alice));
        Assert.Equal(StatusCode.PermissionDenied, await CodeOf(() => kv.PutAsync(new PutRequest { Key = B("secret"), Value = B("x") }, As(alice)).ResponseAsync));

        // A nested txn's write outside the permissions.
        var nested = new TxnRequest
        {
            Success = { new RequestOp { RequestTxn = new TxnRequest { Success = { new RequestOp { RequestPut = new PutRequest { Key = B("secret"), Value = B("x") } } } } } },
        };
        Assert.Equal(StatusCode.PermissionDenied, await CodeOf(() => kv.TxnAsync(nested, As(alice)).ResponseAsync));
        // A read-only nested txn, served without the log.
        var nestedRead = new TxnRequest { Success = { new RequestOp { RequestTxn = new TxnRequest { Success = { new RequestOp { RequestRange = new RangeRequest { Key = B("secret") } } } } } } };
        Assert.Equal(StatusCode.PermissionDenied, await CodeOf(() => kv.TxnAsync(nestedRead, As(alice)).ResponseAsync));
        // A lease attached in a txn to a key outside the permissions.
        var lease = await new LeaseClient(second).LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 }, As(alice));
        var attach = new TxnRequest { Success = { new RequestOp { RequestPut = new PutRequest { Key = B("secret"), Value = B("l"), Lease = lease.ID } } } };
        Assert.Equal(StatusCode.PermissionDenied, await CodeOf(() => kv.TxnAsync(attach, As(alice)).ResponseAsync));
        // Watches over more than alice may read: "from key" and everything.
        var fromKey = await CreateWatchAsync(second, alice, new WatchCreateRequest { Key = B("app/"), RangeEnd = ByteString.CopyFrom(0) });
        Assert.True(fromKey.Canceled, "a watch from app/ to the end was not refused");
        var everything = await CreateWatchAsync(second, alice, new WatchCreateRequest { Key = ByteString.CopyFrom(0), RangeEnd = ByteString.CopyFrom(0) });
        Assert.True(everything.Canceled, "a watch over every key was not refused");
        Assert.Contains("permission denied", everything.CancelReason, StringComparison.Ordinal);
        var allowed = await CreateWatchAsync(second, alice, new WatchCreateRequest { Key = B("app/"), RangeEnd = B("app0") });
        Assert.False(allowed.Canceled);

        // Without a token: member list, alarms, leases (raftkv's deliberate differences from etcd 3.4).
        Assert.Equal(StatusCode.InvalidArgument, await CodeOf(() => new ClusterClient(second).MemberListAsync(new MemberListRequest(), As(null)).ResponseAsync));
        Assert.Equal(StatusCode.InvalidArgument, await CodeOf(() => new MaintenanceClient(second).AlarmAsync(new AlarmRequest(), As(null)).ResponseAsync));
        Assert.Equal(StatusCode.PermissionDenied, await CodeOf(() => new MaintenanceClient(second).AlarmAsync(new AlarmRequest(), As(alice)).ResponseAsync));
        Assert.Equal(StatusCode.InvalidArgument, await CodeOf(() => new LeaseClient(second).LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 }, As(null)).ResponseAsync));
        Assert.Equal(StatusCode.InvalidArgument, await CodeOf(() => new LeaseClient(second).LeaseLeasesAsync(new LeaseLeasesRequest(), As(null)).ResponseAsync));
        Assert.Equal(StatusCode.InvalidArgument, await CodeOf(() => new LeaseClient(second).LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease.ID }, As(null)).ResponseAsync));
        Assert.Equal(StatusCode.InvalidArgument, await CodeOf(() => new LeaseClient(second).LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = lease.ID }, As(null)).ResponseAsync));
        Assert.Equal(StatusCode.Unauthenticated, await CodeOf(() => kv.RangeAsync(new RangeRequest { Key = B("app/1") }, As("forged.1")).ResponseAsync));
        Assert.Equal(StatusCode.OK, await CodeOf(() => new ClusterClient(second).MemberListAsync(new MemberListRequest(), As(alice)).ResponseAsync));

        // A restarted member keeps users, roles and the auth revision; its tokens are gone (as etcd's), a new one works.
        var status = await new AuthClient(first).AuthStatusAsync(new AuthStatusRequest(), As(null));
        await members[2].StopAsync();
        members[2].Start();
        using var third = GrpcChannel.ForAddress(members[2].ClientUrl);
        var restarted = await Poll.UntilAsync(async () =>
        {
            try
            {
                return await new AuthClient(third).AuthStatusAsync(new AuthStatusRequest(), As(null));
            }
            catch (RpcException)
            {
                return null;
            }
        }, TimeSpan.FromSeconds(30), "the restarted member answering", cluster.Diagnostics);
        Assert.True(restarted.Enabled);
        Assert.Equal(status.AuthRevision, restarted.AuthRevision);
        var root = await TokenAsync(third, "root", "rootpw");
        var put = await new KvClient(third).PutAsync(new PutRequest { Key = B("app/2"), Value = B("w") }, As(root));

        // HashKV needs root; every member holds the same keys at the same revision.
        var hashes = await Poll.UntilAsync(async () =>
        {
            var results = new List<HashKVResponse>();
            foreach (var m in members)
            {
                using var channel = GrpcChannel.ForAddress(m.ClientUrl);
                try
                {
                    results.Add(await new MaintenanceClient(channel).HashKVAsync(new HashKVRequest { Revision = put.Header.Revision }, As(root)));
                }
                catch (RpcException)
                {
                    return null;
                }
            }
            return results;
        }, TimeSpan.FromSeconds(30), "HashKV from every member", cluster.Diagnostics);
        Assert.Single(hashes.Select(h => h.Hash).Distinct());
        Assert.Equal(StatusCode.Unknown, await CodeOf(() => new MaintenanceClient(second).HashKVAsync(new HashKVRequest(), As(alice)).ResponseAsync));

        // The HTTP API: 401 with a Basic challenge without credentials, 403 for alice, root's served; probes open.
        using var http = new HttpClient { BaseAddress = new Uri(members[1].HttpUrl), Timeout = TimeSpan.FromSeconds(15) };
        var anonymous = await http.GetAsync("/v1/status");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Basic", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await GetAs(http, "/v1/status", "root:wrong")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await GetAs(http, "/v1/status", "alice:alicepw")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await GetAs(http, "/v1/status", "root:rootpw")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/version")).StatusCode);

        // The JSON gateway: a token from /v3/auth/authenticate, sent back as the Authorization header (as etcd's gateway takes it).
        using var gateway = new HttpClient { BaseAddress = new Uri(members[1].ClientUrl), Timeout = TimeSpan.FromSeconds(15) };
        var login = await gateway.PostAsync("/v3/auth/authenticate", new StringContent("{\"name\":\"alice\",\"password\":\"alicepw\"}"));
        Assert.Equal(System.Net.HttpStatusCode.OK, login.StatusCode);
        var token = System.Text.Json.JsonDocument.Parse(await login.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        var range = new HttpRequestMessage(HttpMethod.Post, "/v3/kv/range") { Content = new StringContent("{\"key\":\"YXBwLzE=\"}") }; // app/1
        range.Headers.TryAddWithoutValidation("Authorization", token);
        var ranged = await gateway.SendAsync(range);
        Assert.Equal(System.Net.HttpStatusCode.OK, ranged.StatusCode);
        Assert.Contains("\"kvs\"", await ranged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var refused = await gateway.PostAsync("/v3/kv/range", new StringContent("{\"key\":\"YXBwLzE=\"}"));
        Assert.NotEqual(System.Net.HttpStatusCode.OK, refused.StatusCode);
    }

    private static Task<HttpResponseMessage> GetAs(HttpClient http, string path, string credentials)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(credentials)));
        return http.SendAsync(request);
    }
}
