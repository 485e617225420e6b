using Grpc.Core;

namespace RaftKv.Server.Cluster;

/// <summary>
/// The membership calls members make of each other on the peer port: a joining member asks who the cluster's members
/// are (it finds its id by its peer URL); a follower hands a membership request to the leader.
/// </summary>
public sealed class PeerClusterService(NodeContext node) : PeerCluster.PeerClusterBase
{
    /// <inheritdoc />
    public override Task<MembersReply> Members(MembersRequest request, ServerCallContext context)
    {
        var table = node.Members;
        var reply = new MembersReply { ClusterId = node.ClusterId, MemberId = node.Settings.Self.Id };
        reply.Members.AddRange(table.Members.Select(m => m.ToProto()));
        reply.Removed.AddRange(table.Removed);
        return Task.FromResult(reply);
    }

    /// <inheritdoc />
    public override Task<ForwardedChangeReply> Forward(ForwardedChange request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.ClusterId != node.ClusterId)
            return Task.FromResult(new ForwardedChangeReply { Code = (int)StatusCode.FailedPrecondition, Message = "etcdserver: cluster ID mismatch" });
        return node.MembershipChanges.HandleForwardedAsync(request, context.CancellationToken);
    }
}
