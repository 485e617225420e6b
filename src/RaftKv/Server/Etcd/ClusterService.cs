using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Server.Cluster;

namespace RaftKv.Server.Etcd;

/// <summary>
/// etcd's Cluster service over the replicated member table. Changes go through the leader as configuration changes
/// of the Raft log (<see cref="MembershipChanges"/>); MemberList answers from this member's applied table, after a
/// read barrier when the request asks to be linearizable (etcd 3.5's flag; without it etcd also answers locally).
/// </summary>
public sealed class ClusterService(NodeContext node) : RaftKv.Etcd.Api.Cluster.ClusterBase
{
    public override async Task<MemberListResponse> MemberList(MemberListRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Linearizable) await node.Proposer.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
        return new MemberListResponse { Header = node.Header(), Members = { List(node.Members) } };
    }

    public override async Task<MemberAddResponse> MemberAdd(MemberAddRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (added, table) = await node.MembershipChanges.RouteAsync(new ForwardedChange { Add = request }, context.CancellationToken).ConfigureAwait(false);
        return new MemberAddResponse { Header = node.Header(), Member = added, Members = { List(table) } };
    }

    public override async Task<MemberRemoveResponse> MemberRemove(MemberRemoveRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (_, table) = await node.MembershipChanges.RouteAsync(new ForwardedChange { Remove = request }, context.CancellationToken).ConfigureAwait(false);
        return new MemberRemoveResponse { Header = node.Header(), Members = { List(table) } };
    }

    public override async Task<MemberUpdateResponse> MemberUpdate(MemberUpdateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (_, table) = await node.MembershipChanges.RouteAsync(new ForwardedChange { Update = request }, context.CancellationToken).ConfigureAwait(false);
        return new MemberUpdateResponse { Header = node.Header(), Members = { List(table) } };
    }

    public override async Task<MemberPromoteResponse> MemberPromote(MemberPromoteRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var (_, table) = await node.MembershipChanges.RouteAsync(new ForwardedChange { Promote = request }, context.CancellationToken).ConfigureAwait(false);
        return new MemberPromoteResponse { Header = node.Header(), Members = { List(table) } };
    }

    private static IEnumerable<RaftKv.Etcd.Api.Member> List(MemberTable table) => table.Members.Select(m => m.ToProto());
}
