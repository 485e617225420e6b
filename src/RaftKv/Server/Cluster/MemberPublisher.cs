using Grpc.Core;
using Microsoft.Extensions.Hosting;

namespace RaftKv.Server.Cluster;

/// <summary>
/// Publishes this member's name and client URLs through the Raft log once it runs (etcd's attribute publication), so
/// that every member's MemberList shows them from the replicated table rather than from asking peers. Retries until
/// the table holds them; a member whose flags changed across a restart publishes the new ones.
/// </summary>
public sealed class MemberPublisher(NodeContext node) : BackgroundService
{
    // Soon after start (etcd serves clients only once published; raftkv serves at once, so the gap is kept short),
    // then rarely, in case a restart changed the flags.
    private static readonly TimeSpan CheckEarly = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan CheckEvery = TimeSpan.FromMilliseconds(500);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var self = node.Settings.Self;
        var clientUrls = node.Settings.AdvertiseClientUrls.Select(u => u.GetLeftPart(UriPartial.Authority)).ToArray();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var published = node.Members.Find(self.Id) is { } current && current.Name == self.Name && current.ClientUrls.SequenceEqual(clientUrls, StringComparer.Ordinal);
                await Task.Delay(published ? CheckEvery : CheckEarly, stoppingToken).ConfigureAwait(false);
                if (node.Members.Find(self.Id) is not { } me || node.Status is not { Leader: not Raft.RaftNode.None }) continue;
                if (me.Name == self.Name && me.ClientUrls.SequenceEqual(clientUrls, StringComparer.Ordinal)) continue;
                var attributes = new RaftKv.Etcd.Api.Member { ID = self.Id, Name = self.Name, ClientURLs = { clientUrls } };
                await node.MembershipChanges.RouteAsync(new ForwardedChange { Publish = attributes }, stoppingToken).ConfigureAwait(false);
            }
            catch (RpcException)
            {
                // no leader, a change in flight, or the leader is unreachable: try again
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
