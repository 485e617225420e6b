using Grpc.Core;
using Microsoft.Extensions.Hosting;

namespace RaftKv.Server.Cluster;

/// <summary>
/// A member removed from the cluster may never apply its own removal: once the leader applies it, it stops sending
/// to the member, which then only sees its leader go quiet. When this member has had no leader for a few election
/// timeouts, this asks the other members whether it was removed (etcd learns it from its peers' refusals), and if so
/// stops the member (<see cref="NodeContext.MarkRemoved"/>).
/// </summary>
public sealed class RemovalDetector(NodeContext node) : BackgroundService
{
    private const int QuietElectionTimeouts = 3;
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var electionTimeout = TimeSpan.FromMilliseconds(node.Settings.ElectionTimeoutMs);
        var quietSince = DateTime.UtcNow;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(electionTimeout, stoppingToken).ConfigureAwait(false);
                if (node.Status is { Leader: not Raft.RaftNode.None })
                {
                    quietSince = DateTime.UtcNow;
                    continue;
                }
                if (DateTime.UtcNow - quietSince < QuietElectionTimeouts * electionTimeout) continue;
                if (await AskPeersAsync(stoppingToken).ConfigureAwait(false))
                {
                    node.MarkRemoved();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<bool> AskPeersAsync(CancellationToken cancellationToken)
    {
        var self = node.Settings.Self.Id;
        foreach (var peer in node.Members.Members.Where(m => m.Id != self && m.PeerUrls.Count > 0))
        {
            try
            {
                var reply = await node.PeerClients.Get(peer.PeerUrls[0]).MembersAsync(new MembersRequest(),
                    deadline: DateTime.UtcNow + AskTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (reply.ClusterId == node.ClusterId && reply.Removed.Contains(self)) return true;
            }
            catch (RpcException)
            {
                // down or partitioned: ask the next
            }
        }
        return false;
    }
}
