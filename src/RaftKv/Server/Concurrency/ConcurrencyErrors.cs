using Grpc.Core;

namespace RaftKv.Server.Concurrency;

/// <summary>
/// The errors of etcd's server-side lock and election services. etcd returns clientv3/concurrency's plain Go errors,
/// which gRPC sends as UNKNOWN with the error's text; clients match on these texts, so they are etcd's word for word.
/// </summary>
public static class ConcurrencyErrors
{
    /// <summary>"election: not leader": Proclaim (or a Campaign that had to proclaim) by one who does not lead.</summary>
    public static RpcException NotLeader() => Unknown("election: not leader");

    /// <summary>"election: no leader": Leader of an election nobody campaigns in.</summary>
    public static RpcException NoLeader() => Unknown("election: no leader");

    /// <summary>etcd's ErrMissingLeaderKey: Proclaim or Resign without the leader field.</summary>
    public static RpcException MissingLeaderKey() => Unknown("\"leader\" field must be provided");

    /// <summary>
    /// "mutex: session is expired" (clientv3's ErrSessionExpired): the waiter's own key vanished while it waited, its
    /// lease expired or was revoked (or someone deleted the key), so it would own nothing when its turn came.
    /// </summary>
    public static RpcException SessionExpired() => Unknown("mutex: session is expired");

    /// <summary>
    /// An error of a key-value call the services make, as etcd's services pass it on: their in-process clientv3 turns
    /// etcd's own errors ("etcdserver: ...") into plain Go errors, which reach the client as UNKNOWN with the same text
    /// ("etcdserver: requested lease not found" is UNKNOWN from Lock, NOT_FOUND from Put). RaftKv's own errors keep
    /// their code.
    /// </summary>
    public static RpcException FromInnerCall(RpcException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.StatusCode != StatusCode.Unknown && e.Status.Detail.StartsWith("etcdserver: ", StringComparison.Ordinal) ? Unknown(e.Status.Detail) : e;
    }

    private static RpcException Unknown(string message) => new(new Status(StatusCode.Unknown, message));
}
