using System.Text;
using RaftKv.Raft.Hosting.Tests;

namespace RaftKv.Raft.Transport.Tests;

/// <summary>
/// A member that was down while the others wrote past several snapshots catches up by snapshot (paper section 7)
/// over the real gRPC transport: with payloads, several MiB of state stream in many chunks from the leader's live
/// state into the follower's AcceptPayload, and the follower restores the descriptor it staged; a chunk corrupted
/// or cut short in transit is refused and a later attempt succeeds; without payloads the data travels inline.
/// </summary>
public sealed class GrpcSnapshotCatchUpTests
{
    private const int Writes = 160;
    private const int ChunkBytes = 64 * 1024;

    [Fact]
    public async Task A_lagging_follower_catches_up_from_a_payload_streamed_in_many_chunks()
    {
        await using var cluster = await GrpcCluster.CreateAsync(payloads: true, chunkBytes: ChunkBytes);
        var (leader, lagging) = await WriteWhileOneIsDownAsync(cluster);

        cluster.Start(lagging.Host.Id);
        await GrpcCluster.WaitUntilAsync(() => lagging.Machine.Items.Count == Writes);

        Assert.Equal(leader.Machine.Items, lagging.Machine.Items);
        Assert.True(leader.Machine.LastPayloadBytes > 50L * ChunkBytes, $"payload of {leader.Machine.LastPayloadBytes} bytes");
        Assert.True(leader.Store.Snapshot!.Data.Length < 64); // the leader's snapshot is only a descriptor
        var accepted = Assert.Single(lagging.Machine.Accepted);
        Assert.Equal(accepted.Descriptor, Assert.Single(lagging.Machine.Restores));
        Assert.Equal(accepted.Descriptor, lagging.Store.Snapshot!.Data.ToArray());
        Assert.True(accepted.StateIndex >= accepted.SnapshotIndex);
        await cluster.ProposeAsync("after"u8.ToArray());
        await GrpcCluster.WaitUntilAsync(() => lagging.Machine.Items.Count == Writes + 1);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_chunk_corrupted_or_a_call_cut_short_in_transit_is_refused_and_a_later_attempt_succeeds(bool corrupt)
    {
        var tampering = new ChunkTampering { CorruptNext = corrupt ? 1 : 0, TruncateNext = corrupt ? 0 : 1 };
        var laggingId = GrpcCluster.Ids[^1];
        await using var cluster = await GrpcCluster.CreateAsync(payloads: true, new Dictionary<ulong, ChunkTampering> { [laggingId] = tampering }, ChunkBytes);
        var (leader, lagging) = await WriteWhileOneIsDownAsync(cluster, laggingId);

        cluster.Start(laggingId);
        await GrpcCluster.WaitUntilAsync(() => lagging.Machine.Items.Count == Writes);

        Assert.Equal(1, tampering.Tampered);
        // The transport refused the bad transfer: AcceptPayload read its refusal from the stream and staged nothing.
        var failure = Assert.IsType<InvalidDataException>(Assert.Single(lagging.Machine.AcceptFailures));
        Assert.Contains(corrupt ? "checksum does not match" : "truncated", failure.Message, StringComparison.Ordinal);
        Assert.Equal(Assert.Single(lagging.Machine.Accepted).Descriptor, Assert.Single(lagging.Machine.Restores));
        Assert.Equal(leader.Machine.Items, lagging.Machine.Items);
    }

    [Fact]
    public async Task Without_payloads_a_lagging_follower_gets_the_whole_state_inline_as_before()
    {
        await using var cluster = await GrpcCluster.CreateAsync(payloads: false, chunkBytes: ChunkBytes);
        var (leader, lagging) = await WriteWhileOneIsDownAsync(cluster);

        cluster.Start(lagging.Host.Id);
        await GrpcCluster.WaitUntilAsync(() => lagging.Machine.Items.Count == Writes);

        Assert.Equal(leader.Machine.Items, lagging.Machine.Items);
        Assert.Empty(lagging.Machine.Accepted);
        // The follower restored, and stored, the state itself, which came in many chunks.
        var restored = Assert.Single(lagging.Machine.Restores);
        Assert.True(restored.Length > 50L * ChunkBytes, $"restored {restored.Length} bytes");
        Assert.Equal(restored, lagging.Store.Snapshot!.Data.ToArray());
    }

    /// <summary>Runs two members, writes past three snapshots, and waits until the leader compacted its log for good.</summary>
    private static async Task<(GrpcCluster.Member Leader, GrpcCluster.Member Lagging)> WriteWhileOneIsDownAsync(GrpcCluster cluster, ulong? laggingId = null)
    {
        var lagging = cluster.Members[laggingId ?? GrpcCluster.Ids[^1]];
        foreach (var id in GrpcCluster.Ids.Where(i => i != lagging.Host.Id)) cluster.Start(id);
        var leader = await cluster.LeaderAsync();
        for (var i = 0; i < Writes; i++) await cluster.ProposeAsync(Encoding.UTF8.GetBytes($"w{i}"));
        leader = await cluster.LeaderAsync();
        // Compacted, and no snapshot still coming (one starts 50 entries after the last): the one the follower gets
        // stays valid while it catches up, so it needs exactly one.
        await GrpcCluster.WaitUntilAsync(() => leader.Host.Status is { FirstIndex: > 100 } s && s.Applied - (s.FirstIndex - 1) < 50);
        return (leader, lagging);
    }
}
