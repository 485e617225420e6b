using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using RaftKv.Tests.Infrastructure;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace RaftKv.Tests.Health;

/// <summary>
/// grpc.health.v1.Health on the client port: SERVING with a leader, NOT_SERVING on a member left alone, Check and
/// Watch; the answers with a leader and for unknown service names compared with a real etcd 3.4.
/// </summary>
public sealed class GrpcHealthTests
{
    private static readonly TimeSpan CallBound = TimeSpan.FromSeconds(10);

    private static async Task<ServingStatus> CheckAsync(string url, string service = "")
    {
        using var channel = GrpcChannel.ForAddress(url);
        var health = new Grpc.Health.V1.Health.HealthClient(channel);
        return (await health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.Add(CallBound))).Status;
    }

    /// <summary>As <see cref="CheckAsync"/>, null while the server does not answer yet (still starting).</summary>
    private static async Task<ServingStatus?> TryCheckAsync(string url)
    {
        try
        {
            return await CheckAsync(url);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            return null;
        }
    }

    /// <summary>Reads the next status of an open Watch within <paramref name="bound"/>.</summary>
    private static async Task<ServingStatus> NextAsync(AsyncServerStreamingCall<HealthCheckResponse> watch, TimeSpan bound)
    {
        using var timeout = new CancellationTokenSource(bound);
        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token), "the watch ended");
        return watch.ResponseStream.Current.Status;
    }

    [Fact]
    public async Task ServingWithALeader_NotServingAlone_AndWatchFollowsBoth()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        await cluster.WaitForLeaderAsync();
        foreach (var m in cluster.Members)
        {
            // A member learns the leader on its first heartbeat: a bounded poll, not an assumption.
            await Poll.UntilAsync(async () => await TryCheckAsync(m.ClientUrl) == ServingStatus.Serving,
                ProcessCluster.ElectionBound, $"{m.Name} SERVING", cluster.Diagnostics);
        }

        var survivor = cluster.Members[0];
        using var channel = GrpcChannel.ForAddress(survivor.ClientUrl);
        var health = new Grpc.Health.V1.Health.HealthClient(channel);
        using var watching = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var watch = health.Watch(new HealthCheckRequest(), cancellationToken: watching.Token);
        Assert.Equal(ServingStatus.Serving, await NextAsync(watch, CallBound));

        cluster.Members[1].Kill();
        cluster.Members[2].Kill();
        // CheckQuorum: a leader alone steps down; a follower alone cannot win. The watch hears it within one poll.
        Assert.Equal(ServingStatus.NotServing, await NextAsync(watch, ProcessCluster.ElectionBound));
        Assert.Equal(ServingStatus.NotServing, await CheckAsync(survivor.ClientUrl));

        cluster.Members[1].Start();
        await cluster.WaitForLeaderAsync();
        Assert.Equal(ServingStatus.Serving, await NextAsync(watch, ProcessCluster.ElectionBound));
        Assert.Equal(ServingStatus.Serving, await CheckAsync(survivor.ClientUrl));
    }

    [Fact]
    public async Task UnknownServiceNames_NotFoundFromCheck_ServiceUnknownFromWatch()
    {
        await using var cluster = await ProcessCluster.StartAsync(1);
        var member = cluster.Members[0];
        Assert.Equal(await Outcomes(member.ClientUrl), Expected);
    }

    /// <summary>What etcd 3.4 answers (grpc-go's health server with "" SERVING), and raftkv with a leader.</summary>
    private static readonly string[] Expected =
    [
        "check '': SERVING",
        "check 'etcdserverpb.KV': NotFound unknown service",
        "watch '': SERVING",
        "watch 'etcdserverpb.KV': SERVICE_UNKNOWN",
    ];

    private static async Task<string[]> Outcomes(string url)
    {
        var outcomes = new List<string>();
        using var channel = GrpcChannel.ForAddress(url);
        var health = new Grpc.Health.V1.Health.HealthClient(channel);
        await Poll.UntilAsync(async () => await TryCheckAsync(url) == ServingStatus.Serving, ProcessCluster.ElectionBound, $"{url} SERVING");
        foreach (var service in new[] { "", "etcdserverpb.KV" })
        {
            try
            {
                var status = (await health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.Add(CallBound))).Status;
                outcomes.Add($"check '{service}': {Name(status)}");
            }
            catch (RpcException e)
            {
                outcomes.Add($"check '{service}': {e.StatusCode} {e.Status.Detail}");
            }
        }

        foreach (var service in new[] { "", "etcdserverpb.KV" })
        {
            using var cancel = new CancellationTokenSource(CallBound);
            using var watch = health.Watch(new HealthCheckRequest { Service = service }, cancellationToken: cancel.Token);
            outcomes.Add($"watch '{service}': {Name(await NextAsync(watch, CallBound))}");
        }

        return [.. outcomes];
    }

    private static string Name(ServingStatus status) => status switch
    {
        ServingStatus.Serving => "SERVING",
        ServingStatus.NotServing => "NOT_SERVING",
        ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
        _ => "UNKNOWN",
    };

    [EtcdServerFact]
    public async Task Differential_TheSameAnswersAsEtcd34_WithALeader()
    {
        await using var etcd = EtcdProcess.Start();
        var fromEtcd = await Outcomes(etcd.ClientUrl);
        Assert.Equal(Expected, fromEtcd);
        await using var cluster = await ProcessCluster.StartAsync(3);
        Assert.Equal(fromEtcd, await Outcomes(cluster.Members[1].ClientUrl));
    }
}
