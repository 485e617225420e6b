using Grpc.Core;
using Grpc.Net.Client;

namespace RaftKv.Server.Cluster;

/// <summary>
/// How a member started with <c>--initial-cluster-state existing</c> and an empty data directory finds its place: it
/// asks the other members named in <c>--initial-cluster</c> (on their peer ports) for the cluster's id and member
/// table, and finds itself by its advertised peer URL, which MemberAdd recorded. As in etcd, the member must have been
/// added before it starts; a removed member cannot come back under its old id.
/// </summary>
public static class ClusterJoin
{
    /// <summary>How long the joiner keeps asking before it gives up (the cluster may be electing).</summary>
    public static readonly TimeSpan AskFor = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AskAgainAfter = TimeSpan.FromMilliseconds(250);

    /// <summary>The cluster as the running members describe it, with this member's id; or why it cannot join.</summary>
    public static async Task<(Membership? Membership, string? Error)> ResolveAsync(ServerSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var selfUrl = settings.AdvertisePeerUrl.GetLeftPart(UriPartial.Authority);
        var others = settings.Membership.Members.Where(m => m.Name != settings.Name).ToArray();
        var deadline = DateTime.UtcNow + AskFor;
        var failures = new Dictionary<string, string>();
        while (true)
        {
            foreach (var peer in others)
            {
                MembersReply reply;
                try
                {
                    using var channel = GrpcChannel.ForAddress(peer.PeerUrl, new GrpcChannelOptions { HttpHandler = Tls.PeerTlsClient.Handler(settings.PeerTls, AskTimeout) });
                    reply = await new PeerCluster.PeerClusterClient(channel)
                        .MembersAsync(new MembersRequest(), deadline: DateTime.UtcNow + AskTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException e)
                {
                    failures[peer.Name] = $"{peer.PeerUrl}: {e.Status.StatusCode} {e.Status.Detail}";
                    continue;
                }
                if (reply.Members.Count == 0)
                {
                    failures[peer.Name] = $"{peer.PeerUrl}: it has not applied the cluster's bootstrap yet";
                    continue;
                }
                return FromReply(settings, selfUrl, peer, reply);
            }
            if (DateTime.UtcNow >= deadline)
            {
                return (null, $"--initial-cluster-state existing: no running member answered within {AskFor.TotalSeconds:0} s ({string.Join("; ", failures.Select(f => $"{f.Key} at {f.Value}"))})");
            }
            await Task.Delay(AskAgainAfter, cancellationToken).ConfigureAwait(false);
        }
    }

    private static (Membership? Membership, string? Error) FromReply(ServerSettings settings, string selfUrl, Member asked, MembersReply reply)
    {
        var me = reply.Members.FirstOrDefault(m => m.PeerURLs.Contains(selfUrl, StringComparer.Ordinal));
        if (me is null)
        {
            return (null, $"the cluster {reply.ClusterId:x16} (asked {asked.Name} at {asked.PeerUrl}) has no member with peer URL {selfUrl}: " +
                $"add it first (etcdctl member add {settings.Name} --peer-urls={selfUrl}), then start it with --initial-cluster-state existing");
        }
        if (me.Name.Length > 0 && me.Name != settings.Name)
        {
            return (null, $"peer URL {selfUrl} belongs to member '{me.Name}' ({me.ID:x16}) of cluster {reply.ClusterId:x16}, not to '{settings.Name}'");
        }
        var members = new List<Member>();
        foreach (var m in reply.Members)
        {
            if (m.PeerURLs.Count == 0 || !Uri.TryCreate(m.PeerURLs[0], UriKind.Absolute, out var url)) continue;
            var name = m.ID == me.ID ? settings.Name : m.Name.Length > 0 ? m.Name : m.ID.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
            members.Add(new Member(m.ID, name, url));
        }
        return (Membership.Of(members, reply.ClusterId), null);
    }
}
