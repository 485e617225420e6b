using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Server.Watch;

namespace RaftKv.Server.Etcd;

/// <summary>
/// etcd's Watch service, served from this member's own store (as etcd serves it), so watches go on across leader
/// changes. A client that sends the <c>hasleader</c> metadata (clientv3's WithRequireLeader) is refused while the
/// member has no leader, and its stream ends when the leader has been gone for three election timeouts.
/// </summary>
public sealed class WatchService(NodeContext node) : RaftKv.Etcd.Api.Watch.WatchBase
{
    /// <summary>The metadata key clientv3's WithRequireLeader sets (to "true").</summary>
    public const string RequireLeaderKey = "hasleader";

    public override Task Watch(IAsyncStreamReader<WatchRequest> requestStream, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var requireLeader = string.Equals(context.RequestHeaders.GetValue(RequireLeaderKey), "true", StringComparison.Ordinal);
        var body = context.GetHttpContext().Response.BodyWriter;
        return new WatchSession(node.Machine.Watches, node, responseStream, requireLeader, async ct => await body.FlushAsync(ct).ConfigureAwait(false))
            .RunAsync(requestStream, context.CancellationToken);
    }
}
