using System.Net;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Tests.Infrastructure;
using KvClient = RaftKv.Etcd.Api.KV.KVClient;
using LeaseClient = RaftKv.Etcd.Api.Lease.LeaseClient;

namespace RaftKv.Tests.Server.Limits;

/// <summary>
/// Issue 18's limits against a hostile client, on a real member: a connection over its request rate gets etcd's
/// "too many requests" (gRPC) or 429 (gateway) while another connection is served; connections beyond the rate of
/// new ones are closed unserved while an open one keeps working; a lease grant beyond --max-leases is refused, and
/// allowed again once a lease is revoked. Each flood is bounded in count.
/// </summary>
public sealed class ClientLimitsProcessTests : IAsyncLifetime
{
    private readonly ProcessCluster _cluster = ProcessCluster.Create(1);

    private MemberProcess Member => _cluster.Members[0];

    public async Task InitializeAsync()
    {
        Member.ExtraArgs = [.. Member.ExtraArgs, "--max-requests-per-second-per-connection", "50", "--max-new-connections-per-second", "5",
            "--max-leases", "3"];
        Member.Start();
        await _cluster.WaitForLeaderAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static CallOptions Bounded => new(deadline: DateTime.UtcNow.AddSeconds(10));

    private static async Task<StatusCode> CodeOf(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            Assert.True(e.StatusCode != StatusCode.ResourceExhausted || e.Status.Detail == "etcdserver: too many requests", e.Status.Detail);
            return e.StatusCode;
        }
    }

    [Fact]
    public async Task AConnectionOverItsRequestRate_IsRefused_WhileAnotherIsServed()
    {
        // One connection (a channel opens more once 100 streams are in flight, and each would have its own budget).
        using var flooding = GrpcChannel.ForAddress(Member.ClientUrl, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false } });
        using var quiet = GrpcChannel.ForAddress(Member.ClientUrl);
        var range = new RangeRequest { Key = ByteString.CopyFromUtf8("k") };
        Assert.Equal(StatusCode.OK, await CodeOf(async () => await new KvClient(quiet).RangeAsync(range, Bounded)));

        // 400 calls at once on one connection (its HTTP/2 streams share the budget of 50 a second, 50 in a burst).
        var flood = new KvClient(flooding);
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        var codes = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => CodeOf(async () => await flood.RangeAsync(range, Bounded))));
        var served = codes.Count(c => c == StatusCode.OK);
        // At most the burst and what the rate refilled meanwhile: a bound on what was admitted, whatever the machine's speed.
        var admissible = 50 + (50 * elapsed.Elapsed.TotalSeconds) + 1;
        Assert.True(served <= admissible, $"{served} calls served in {elapsed.Elapsed.TotalSeconds:F1} s, above the {admissible:F0} the budget allows");
        Assert.True(served >= 50, $"the burst itself was not served ({served})");
        Assert.Contains(StatusCode.ResourceExhausted, codes);
        Assert.All(codes, c => Assert.True(c is StatusCode.OK or StatusCode.ResourceExhausted, c.ToString()));

        // The other connection's budget is its own.
        Assert.Equal(StatusCode.OK, await CodeOf(async () => await new KvClient(quiet).RangeAsync(range, Bounded)));

        // And the refusals are counted where an operator looks.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var metrics = await http.GetStringAsync($"{Member.HttpUrl}/metrics");
        var line = metrics.Split('\n').Single(l => l.StartsWith("raftkv_client_requests_refused_total ", StringComparison.Ordinal));
        Assert.Equal(codes.Count(c => c == StatusCode.ResourceExhausted), (int)double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task TheGatewayOverItsRequestRate_Answers429WithEtcdsError()
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(Member.ClientUrl), Timeout = TimeSpan.FromSeconds(10) };
        var statuses = new List<HttpStatusCode>();
        string? refusal = null;
        for (var i = 0; i < 200 && refusal is null; i++)
        {
            using var response = await http.PostAsync("/v3/kv/range", new StringContent("{\"key\":\"aw==\"}", Encoding.UTF8, "application/json"));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refusal = await response.Content.ReadAsStringAsync();
        }
        Assert.True(refusal is not null, $"200 gateway requests on one connection were all answered: {string.Join(", ", statuses.Distinct())}");
        Assert.Contains("\"error\":\"etcdserver: too many requests\"", refusal, StringComparison.Ordinal);
        Assert.Contains("\"code\":8", refusal, StringComparison.Ordinal);
        Assert.All(statuses.SkipLast(1), s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Fact]
    public async Task NewConnectionsOverTheRate_AreClosedUnserved_WhileAnOpenOneKeepsWorking()
    {
        using var open = GrpcChannel.ForAddress(Member.ClientUrl);
        var range = new RangeRequest { Key = ByteString.CopyFromUtf8("k") };
        Assert.Equal(StatusCode.OK, await CodeOf(async () => await new KvClient(open).RangeAsync(range, Bounded)));

        // 100 connections at once, each one call: a burst of 5 is admitted (the open one took one), then 5 a second;
        // the rest are closed before any byte is read (the client sees Unavailable).
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        var codes = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            using var channel = GrpcChannel.ForAddress(Member.ClientUrl);
            return await CodeOf(async () => await new KvClient(channel).RangeAsync(range, Bounded));
        }));
        var served = codes.Count(c => c == StatusCode.OK);
        var admissible = 5 + (5 * elapsed.Elapsed.TotalSeconds) + 1;
        Assert.True(served <= admissible, $"{served} new connections served in {elapsed.Elapsed.TotalSeconds:F1} s, above the {admissible:F0} the rate allows");
        Assert.Contains(StatusCode.Unavailable, codes);
        Assert.All(codes, c => Assert.True(c is StatusCode.OK or StatusCode.Unavailable, c.ToString()));
        Assert.Equal(StatusCode.OK, await CodeOf(async () => await new KvClient(open).RangeAsync(range, Bounded)));

        // The rate refills: a new connection is served again (polled, bounded).
        await Poll.UntilAsync(async () =>
        {
            using var channel = GrpcChannel.ForAddress(Member.ClientUrl);
            return await CodeOf(async () => await new KvClient(channel).RangeAsync(range, Bounded)) == StatusCode.OK;
        }, TimeSpan.FromSeconds(30), "a new connection served after the flood");
    }

    [Fact]
    public async Task AGrantBeyondMaxLeases_IsRefused_UntilOneIsRevoked()
    {
        using var channel = GrpcChannel.ForAddress(Member.ClientUrl);
        var leases = new LeaseClient(channel);
        for (var id = 1; id <= 3; id++) await leases.LeaseGrantAsync(new LeaseGrantRequest { ID = id, TTL = 60 }, Bounded);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await leases.LeaseGrantAsync(new LeaseGrantRequest { ID = 4, TTL = 60 }, Bounded));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal("etcdserver: too many leases", refused.Status.Detail);
        Assert.Equal(3, (await leases.LeaseLeasesAsync(new LeaseLeasesRequest(), Bounded)).Leases.Count);

        await leases.LeaseRevokeAsync(new LeaseRevokeRequest { ID = 2 }, Bounded);
        await leases.LeaseGrantAsync(new LeaseGrantRequest { ID = 4, TTL = 60 }, Bounded);
        Assert.Equal([1L, 3L, 4L], (await leases.LeaseLeasesAsync(new LeaseLeasesRequest(), Bounded)).Leases.Select(l => l.ID).Order());
    }
}
