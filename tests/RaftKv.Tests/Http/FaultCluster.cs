using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Http;

/// <summary>The HTTP tests run one at a time: each starts real members, and the machine has two cores.</summary>
[CollectionDefinition(Name)]
public sealed class HttpCollection
{
    public const string Name = "http";
}

/// <summary>A 3-member <see cref="ProcessCluster"/> whose members accept fault injection, as under <c>raftkv cluster</c>.</summary>
public static class FaultCluster
{
    public static async Task<ProcessCluster> StartAsync(int size = 3, bool allowFaults = true)
    {
        var cluster = ProcessCluster.Create(size, "http-tests");
        foreach (var m in cluster.Members)
        {
            if (allowFaults) m.ExtraArgs = [.. m.ExtraArgs, "--allow-fault-injection"];
            m.Start();
        }
        try
        {
            await cluster.WaitForLeaderAsync().ConfigureAwait(false);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return cluster;
    }
}

/// <summary>One fault-injection cluster shared by the tests of a class.</summary>
public sealed class FaultClusterFixture : IAsyncLifetime
{
    public ProcessCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await FaultCluster.StartAsync().ConfigureAwait(false);

    public async Task DisposeAsync() => await Cluster.DisposeAsync().ConfigureAwait(false);
}
