using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using RaftKv.Raft.Transport;

namespace RaftKv.Server.Cluster;

/// <summary>
/// Adds to the transport the peers a restarted member's own table lacks. Without them it cannot answer a leader it
/// does not know, and a follower that needs a snapshot to catch up then never learns of that leader from the log.
/// The robustness suite's 10-minute run found this: a replaced member, restarted before its store held the member
/// table, sent to hashed ids and refused every forwarded write, for minutes.
/// </summary>
/// <remarks>
/// <para>Two cases lead there:</para>
/// <list type="bullet">
/// <item>A store with no member table at all: nothing was durable since the member joined, or a power loss took it.
/// The member then falls back to its flags, whose ids are hashed from names and describe only the cluster's first
/// members.</item>
/// <item>An older table, after a power loss: it misses the members added since.</item>
/// </list>
/// <para>So once started the member asks the peers it knows for the cluster's members, on their peer ports, and adds
/// those it lacks. It never removes or changes a peer. Its own table replaces the whole set at the next configuration
/// change it applies, or at the next snapshot. Bounded: a few rounds of one call per peer, then it gives up and logs
/// nothing more.</para>
/// </remarks>
internal static partial class PeerRefresher
{
    private const int Rounds = 10;
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RoundEvery = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Asks until one peer of the same cluster answers with its member table, then adds the members missing from
    /// <paramref name="transport"/>'s peers. <paramref name="gate"/> is held while the peers are read and replaced (the
    /// apply thread's replacement holds it too), so neither overwrites the other.
    /// </summary>
    public static async Task RefreshAsync(ServerSettings settings, GrpcTransport transport, Lock gate, ILogger logger, CancellationToken cancellationToken)
    {
        var self = settings.Self.Id;
        for (var round = 0; round < Rounds && !cancellationToken.IsCancellationRequested; round++)
        {
            var urls = transport.Peers.Values.Select(u => u.GetLeftPart(UriPartial.Authority))
                .Concat(settings.Membership.Members.Where(m => m.Id != self).Select(m => m.PeerUrl.GetLeftPart(UriPartial.Authority)))
                .Distinct(StringComparer.Ordinal).ToArray();
            foreach (var url in urls)
            {
                MembersReply reply;
                try
                {
                    using var channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = Tls.PeerTlsClient.Handler(settings.PeerTls, AskTimeout) });
                    reply = await new PeerCluster.PeerClusterClient(channel)
                        .MembersAsync(new MembersRequest(), deadline: DateTime.UtcNow + AskTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException)
                {
                    continue;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                if (reply.ClusterId != settings.Membership.ClusterId || reply.Members.Count == 0) continue;
                Add(reply, self, transport, gate, logger);
                return;
            }
            try
            {
                await Task.Delay(RoundEvery, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static void Add(MembersReply reply, ulong self, GrpcTransport transport, Lock gate, ILogger logger)
    {
        lock (gate)
        {
            var peers = transport.Peers.ToDictionary(p => p.Key, p => p.Value);
            var added = new List<string>();
            foreach (var m in reply.Members)
            {
                if (m.ID == self || peers.ContainsKey(m.ID) || reply.Removed.Contains(m.ID)) continue;
                if (m.PeerURLs.Count == 0 || !Uri.TryCreate(m.PeerURLs[0], UriKind.Absolute, out var url)) continue;
                peers[m.ID] = url;
                added.Add($"{(m.Name.Length > 0 ? m.Name : "?")} ({m.ID:x16}) at {url.GetLeftPart(UriPartial.Authority)}");
            }
            if (added.Count == 0) return;
            transport.SetPeers(peers);
            LogAdded(logger, added.Count, reply.MemberId, string.Join(", ", added));
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "added {Count} peers this member's table lacked, as member {From:x16} lists them: {Peers}")]
    private static partial void LogAdded(ILogger logger, int count, ulong from, string peers);
}
