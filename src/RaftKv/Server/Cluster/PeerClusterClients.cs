using System.Collections.Concurrent;
using Grpc.Net.Client;

namespace RaftKv.Server.Cluster;

/// <summary>
/// Clients of <see cref="PeerCluster"/> on other members' peer ports, one channel per peer URL, kept for the
/// member's life (at most <see cref="MaxChannels"/>: a cluster has few members, and a URL seen once is rarely seen
/// again; beyond the bound the oldest are closed).
/// </summary>
public sealed class PeerClusterClients : IDisposable
{
    /// <summary>Most channels kept open.</summary>
    public const int MaxChannels = 2 * MembershipChanges.MaxMembers;

    private readonly ConcurrentDictionary<string, (GrpcChannel Channel, PeerCluster.PeerClusterClient Client)> _clients = new(StringComparer.Ordinal);
    private readonly Tls.TlsEndpoint? _peerTls;

    /// <summary>Clients that use <paramref name="peerTls"/> for https:// peer URLs (null: plaintext peers).</summary>
    public PeerClusterClients(Tls.TlsEndpoint? peerTls = null) => _peerTls = peerTls;

    /// <summary>The client for the member whose peer URL is <paramref name="peerUrl"/>.</summary>
    public PeerCluster.PeerClusterClient Get(string peerUrl) => Entry(peerUrl).Client;

    /// <summary>The channel to the member whose peer URL is <paramref name="peerUrl"/>, for the peer port's other services (write forwarding).</summary>
    public GrpcChannel ChannelFor(string peerUrl) => Entry(peerUrl).Channel;

    private (GrpcChannel Channel, PeerCluster.PeerClusterClient Client) Entry(string peerUrl)
    {
        if (_clients.TryGetValue(peerUrl, out var known)) return known;
        if (_clients.Count >= MaxChannels)
        {
            foreach (var key in _clients.Keys.Take(_clients.Count - MaxChannels + 1))
            {
                if (_clients.TryRemove(key, out var old)) old.Channel.Dispose();
            }
        }
        var channel = GrpcChannel.ForAddress(peerUrl, new GrpcChannelOptions
        {
            HttpHandler = Tls.PeerTlsClient.Handler(_peerTls, TimeSpan.FromSeconds(1)),
        });
        var added = _clients.GetOrAdd(peerUrl, (channel, new PeerCluster.PeerClusterClient(channel)));
        if (!ReferenceEquals(added.Channel, channel)) channel.Dispose();
        return added;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, (channel, _)) in _clients) channel.Dispose();
        _clients.Clear();
    }
}
