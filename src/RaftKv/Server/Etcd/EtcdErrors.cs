using Grpc.Core;
using RaftKv.Kv;
using RaftKv.Raft.Hosting;

namespace RaftKv.Server.Etcd;

/// <summary>etcd's gRPC errors (codes and messages that client libraries match on).</summary>
public static class EtcdErrors
{
    public static RpcException From(KvError error) => new(new Status((StatusCode)(int)error.Code, error.Message));

    public static RpcException NoLeader() => new(new Status(StatusCode.Unavailable, "etcdserver: no leader"));

    public static RpcException LeaderChanged() => new(new Status(StatusCode.Unavailable, "etcdserver: leader changed"));

    public static RpcException Timeout() => new(new Status(StatusCode.Unavailable, "etcdserver: request timed out"));

    public static RpcException Stopped() => new(new Status(StatusCode.Unavailable, "etcdserver: server stopped"));

    public static RpcException TooLarge() => new(new Status(StatusCode.InvalidArgument, "etcdserver: request is too large"));

    public static RpcException Unsupported(string what) => new(new Status(StatusCode.Unimplemented, $"raftkv: {what} is not supported yet"));

    /// <summary>Maps a host failure to what an etcd client expects.</summary>
    public static RpcException From(RaftHostException e) => e switch
    {
        NotLeaderException => NoLeader(),
        ProposalDroppedException => LeaderChanged(),
        NodeStoppedException => Stopped(),
        ReadTimedOutException => Timeout(),
        _ => new RpcException(new Status(StatusCode.Unavailable, e.Message)),
    };
}
