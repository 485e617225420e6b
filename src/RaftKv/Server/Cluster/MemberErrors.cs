using Grpc.Core;

namespace RaftKv.Server.Cluster;

/// <summary>etcd's membership errors (etcd's rpctypes), with its codes and texts, so clients recognize them.</summary>
public static class MemberErrors
{
    public static RpcException MemberExists() => Error(StatusCode.FailedPrecondition, "etcdserver: member ID already exist");

    public static RpcException PeerUrlExists() => Error(StatusCode.FailedPrecondition, "etcdserver: Peer URLs already exists");

    public static RpcException NotEnoughStarted() => Error(StatusCode.FailedPrecondition, "etcdserver: re-configuration failed due to not enough started members");

    public static RpcException BadUrls() => Error(StatusCode.InvalidArgument, "etcdserver: given member URLs are invalid");

    public static RpcException NotFound() => Error(StatusCode.NotFound, "etcdserver: member not found");

    public static RpcException NotLearner() => Error(StatusCode.FailedPrecondition, "etcdserver: can only promote a learner member");

    public static RpcException LearnerNotReady() => Error(StatusCode.FailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader");

    public static RpcException TooManyLearners() => Error(StatusCode.FailedPrecondition, "etcdserver: too many learner members in cluster");

    /// <summary>RaftKv's own: beyond <see cref="MembershipChanges.MaxMembers"/> members (etcd keeps no limit).</summary>
    public static RpcException TooManyMembers() => Error(StatusCode.FailedPrecondition, $"raftkv: a cluster has at most {MembershipChanges.MaxMembers} members");

    /// <summary>RaftKv's own: the Raft core refused the change (it says why).</summary>
    public static RpcException Refused(string reason) => Error(StatusCode.FailedPrecondition, $"raftkv: configuration change refused: {reason}");

    private static RpcException Error(StatusCode code, string message) => new(new Status(code, message));
}
