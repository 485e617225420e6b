using Grpc.Core;
using RaftKv.Etcd.Api;

namespace RaftKv.Server.Etcd;

/// <summary>etcd's Cluster service. Membership is fixed at bootstrap for now: the list works, changes are refused.</summary>
public sealed class ClusterService(NodeContext node) : Cluster.ClusterBase
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromMilliseconds(500);

    public override async Task<MemberListResponse> MemberList(MemberListRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = new MemberListResponse { Header = node.Header() };
        var members = node.Settings.Membership.Members;
        var pings = members.Select(async m =>
        {
            var member = new RaftKv.Etcd.Api.Member { ID = m.Id, PeerURLs = { m.PeerUrl.GetLeftPart(UriPartial.Authority) } };
            if (m.Id == node.Settings.Self.Id)
            {
                member.Name = m.Name;
                member.ClientURLs.AddRange(node.Settings.AdvertiseClientUrls.Select(u => u.GetLeftPart(UriPartial.Authority)));
                return member;
            }
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
                timeout.CancelAfter(PingTimeout);
                var reply = await node.Transport.PingAsync(m.Id, timeout.Token).ConfigureAwait(false);
                member.Name = reply.Name;
                member.ClientURLs.AddRange(reply.ClientUrls);
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
                // Like etcd's unstarted members: known peer URL, no name or client URLs.
            }
            return member;
        });
        response.Members.AddRange(await Task.WhenAll(pings).ConfigureAwait(false));
        return response;
    }

    public override Task<MemberAddResponse> MemberAdd(MemberAddRequest request, ServerCallContext context) => throw EtcdErrors.Unsupported("adding members");

    public override Task<MemberRemoveResponse> MemberRemove(MemberRemoveRequest request, ServerCallContext context) => throw EtcdErrors.Unsupported("removing members");

    public override Task<MemberUpdateResponse> MemberUpdate(MemberUpdateRequest request, ServerCallContext context) => throw EtcdErrors.Unsupported("updating members");

    public override Task<MemberPromoteResponse> MemberPromote(MemberPromoteRequest request, ServerCallContext context) => throw EtcdErrors.Unsupported("promoting learners");
}
