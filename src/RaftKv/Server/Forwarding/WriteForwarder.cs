using Google.Protobuf;

namespace RaftKv.Server.Forwarding;

/// <summary>
/// A follower's side of write forwarding: sends a command to a peer (normally the leader) at the peer URL the Raft
/// transport knows for it, over the member's shared peer channels (<see cref="Cluster.PeerClusterClients"/>).
/// </summary>
public sealed class WriteForwarder(NodeContext node)
{
    /// <summary>Sends <paramref name="payload"/> to <paramref name="peerId"/> and returns its reply's payload.</summary>
    /// <exception cref="ArgumentException">The transport knows no peer URL for <paramref name="peerId"/>.</exception>
    /// <exception cref="Grpc.Core.RpcException">The peer is unreachable or refused the request.</exception>
    public async Task<ReadOnlyMemory<byte>> ForwardAsync(ulong peerId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        (await ForwardWithIndexAsync(peerId, payload, cancellationToken).ConfigureAwait(false)).Payload;

    /// <summary>
    /// As <see cref="ForwardAsync"/>, with the leader's applied index when it answered (see forward.proto): wait until
    /// this member applied it before telling the client, and the client reads its write here.
    /// </summary>
    public async Task<(ReadOnlyMemory<byte> Payload, ulong AppliedIndex)> ForwardWithIndexAsync(ulong peerId, ReadOnlyMemory<byte> payload,
        CancellationToken cancellationToken)
    {
        if (!node.Transport.Peers.TryGetValue(peerId, out var address)) throw new ArgumentException($"unknown peer {peerId:x16}", nameof(peerId));
        var client = new WriteForwarding.WriteForwardingClient(node.PeerClients.ChannelFor(address.GetLeftPart(UriPartial.Authority)));
        var reply = await client.ForwardAsync(new ForwardRequest
        {
            ClusterId = node.ClusterId, From = node.Settings.Self.Id, To = peerId, Payload = UnsafeByteOperations.UnsafeWrap(payload),
        }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (reply.Payload.Memory, reply.AppliedIndex);
    }
}
