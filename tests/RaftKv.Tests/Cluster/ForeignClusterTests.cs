using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Cluster;

/// <summary>
/// Issue 18: a member of another cluster, configured with this cluster's member names and peer URLs but another
/// --initial-cluster-token (so another cluster id), cannot disturb it: every message it sends is refused on arrival
/// and logged by the receiver, and however many elections it starts, the cluster's term and leader stay as they were
/// (Raft section 5.2: a higher term in any accepted message would have made the leader step down).
/// </summary>
public sealed class ForeignClusterTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task AMemberOfAnotherCluster_IsRefusedAndLogged_AndMovesNobodysTerm()
    {
        await using var cluster = ProcessCluster.Create(3);
        foreach (var m in cluster.Members) m.Start();
        var leader = await cluster.WaitForLeaderAsync();
        var term = (await leader.TryStatusAsync())!.Term;

        // It calls itself C, knows A's and B's peer URLs, but belongs to another cluster (another token).
        var c = cluster.Members.Single(m => m.Name == "C");
        await Impostor.AssertCannotDisturbAsync(cluster, leader, term, c, Impostor.Args(cluster, c, "foreign", "another-cluster"),
            ["refused a peer call", "cluster id mismatch"], "A or B logs the foreign member's refused call", Bound);
    }
}
