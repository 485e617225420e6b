namespace RaftKv.Tests.Infrastructure;

/// <summary>One 3-member cluster shared by the tests of a class (they use distinct key prefixes).</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public ProcessCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await ProcessCluster.StartAsync(3).ConfigureAwait(false);

    public async Task DisposeAsync() => await Cluster.DisposeAsync().ConfigureAwait(false);
}
