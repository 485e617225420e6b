using System.Text.Json.Nodes;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Gateway;

/// <summary>
/// etcd's probes on the client port, beside gRPC on the same port: <c>/health</c>, <c>/livez</c>, <c>/readyz</c> and
/// <c>/version</c> with a leader, and on a member left without one (a majority killed, Raft §5.2: no leader can be
/// elected without a quorum).
/// </summary>
public sealed class ProbeTests
{
    [Fact]
    public async Task Probes_say_ready_with_a_leader_and_not_ready_without_one_while_gRPC_shares_the_port()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        var survivor = cluster.Members.First(m => m != leader);
        using var http = new GatewayClient(survivor.ClientUrl);

        // gRPC and HTTP/1.1 on one port: a gRPC put, then the gateway reads it.
        using (var grpc = new EtcdClient(survivor.ClientUrl))
            await grpc.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v") });
        var (rangeStatus, range) = await http.PostAsync("/v3/kv/range", """{"key":"aw=="}""");
        Assert.Equal(200, rangeStatus);
        Assert.Equal("dg==", (string?)JsonNode.Parse(range)!["kvs"]![0]!["value"]);

        var (healthStatus, health) = await http.PostAsync("/health", null, "GET");
        Assert.Equal((200, "true"), (healthStatus, (string?)JsonNode.Parse(health)!["health"]));
        Assert.Equal((200, "ok\n"), await http.PostAsync("/livez", null, "GET"));
        var (readyStatus, ready) = await http.PostAsync("/readyz?verbose", null, "GET");
        Assert.Equal(200, readyStatus);
        Assert.Contains("[+]linearizable_read ok", ready, StringComparison.Ordinal);
        var (versionStatus, version) = await http.PostAsync("/version", null, "GET");
        Assert.Equal(200, versionStatus);
        Assert.StartsWith("3.", (string?)JsonNode.Parse(version)!["etcdserver"], StringComparison.Ordinal);

        foreach (var other in cluster.Members.Where(m => m != survivor)) other.Kill();
        await Poll.UntilAsync(async () => (await http.PostAsync("/readyz", null, "GET")).Status == 503, ProcessCluster.ElectionBound,
            "the lone survivor reporting not ready", cluster.Diagnostics);
        var (lostStatus, lost) = await http.PostAsync("/readyz?verbose", null, "GET");
        Assert.Equal(503, lostStatus);
        Assert.Contains("[-]linearizable_read failed", lost, StringComparison.Ordinal);
        Assert.EndsWith("readyz check failed\n", lost, StringComparison.Ordinal);
        var (excludedStatus, _) = await http.PostAsync("/readyz?exclude=linearizable_read", null, "GET");
        Assert.Equal(200, excludedStatus); // the member itself is fine; only the cluster lacks a quorum
        Assert.Equal((200, "ok\n"), await http.PostAsync("/livez", null, "GET"));
        var (unhealthyStatus, unhealthy) = await http.PostAsync("/health", null, "GET");
        Assert.Equal(503, unhealthyStatus);
        Assert.Equal("false", (string?)JsonNode.Parse(unhealthy)!["health"]);
    }
}
