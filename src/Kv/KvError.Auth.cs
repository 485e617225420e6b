using Grpc.Core;

namespace RaftKv.Kv;

/// <summary>etcd's auth errors (rpctypes, word for word), and RaftKv's own where etcd has none.</summary>
public sealed partial class KvError
{
    /// <summary>"etcdserver: root user does not exist" (FailedPrecondition): auth enable without a root user.</summary>
    public static KvError RootUserNotExist { get; } = new(StatusCode.FailedPrecondition, "etcdserver: root user does not exist");

    /// <summary>"etcdserver: root user does not have root role" (FailedPrecondition).</summary>
    public static KvError RootRoleNotExist { get; } = new(StatusCode.FailedPrecondition, "etcdserver: root user does not have root role");

    /// <summary>"etcdserver: user name already exists" (FailedPrecondition).</summary>
    public static KvError UserAlreadyExist { get; } = new(StatusCode.FailedPrecondition, "etcdserver: user name already exists");

    /// <summary>"etcdserver: user name is empty" (InvalidArgument): also a call without a token while auth is on.</summary>
    public static KvError UserEmpty { get; } = new(StatusCode.InvalidArgument, "etcdserver: user name is empty");

    /// <summary>"etcdserver: user name not found" (FailedPrecondition).</summary>
    public static KvError UserNotFound { get; } = new(StatusCode.FailedPrecondition, "etcdserver: user name not found");

    /// <summary>"etcdserver: role name already exists" (FailedPrecondition).</summary>
    public static KvError RoleAlreadyExist { get; } = new(StatusCode.FailedPrecondition, "etcdserver: role name already exists");

    /// <summary>"etcdserver: role name not found" (FailedPrecondition).</summary>
    public static KvError RoleNotFound { get; } = new(StatusCode.FailedPrecondition, "etcdserver: role name not found");

    /// <summary>"etcdserver: role name is empty" (InvalidArgument).</summary>
    public static KvError RoleEmpty { get; } = new(StatusCode.InvalidArgument, "etcdserver: role name is empty");

    /// <summary>"etcdserver: authentication failed, invalid user ID or password" (InvalidArgument).</summary>
    public static KvError AuthFailed { get; } = new(StatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password");

    /// <summary>"etcdserver: permission denied" (PermissionDenied).</summary>
    public static KvError PermissionDenied { get; } = new(StatusCode.PermissionDenied, "etcdserver: permission denied");

    /// <summary>"etcdserver: role is not granted to the user" (FailedPrecondition).</summary>
    public static KvError RoleNotGranted { get; } = new(StatusCode.FailedPrecondition, "etcdserver: role is not granted to the user");

    /// <summary>"etcdserver: permission is not granted to the role" (FailedPrecondition).</summary>
    public static KvError PermissionNotGranted { get; } = new(StatusCode.FailedPrecondition, "etcdserver: permission is not granted to the role");

    /// <summary>"etcdserver: authentication is not enabled" (FailedPrecondition).</summary>
    public static KvError AuthNotEnabled { get; } = new(StatusCode.FailedPrecondition, "etcdserver: authentication is not enabled");

    /// <summary>"etcdserver: invalid auth token" (Unauthenticated): an unknown or expired token.</summary>
    public static KvError InvalidAuthToken { get; } = new(StatusCode.Unauthenticated, "etcdserver: invalid auth token");

    /// <summary>"etcdserver: invalid auth management" (InvalidArgument): deleting root, or revoking root's root role, while auth is on.</summary>
    public static KvError InvalidAuthMgmt { get; } = new(StatusCode.InvalidArgument, "etcdserver: invalid auth management");

    /// <summary>"etcdserver: revision of auth store is old" (InvalidArgument): the auth state changed between the check and the apply; clients retry.</summary>
    public static KvError AuthOldRevision { get; } = new(StatusCode.InvalidArgument, "etcdserver: revision of auth store is old");

    /// <summary>"auth: permission denied" (Unknown): etcd 3.4's answer to Maintenance calls (hash, defragment, snapshot) without root.</summary>
    public static KvError MaintenancePermissionDenied { get; } = new(StatusCode.Unknown, "auth: permission denied");

    /// <summary>"auth: user name is empty" (Unknown): etcd 3.4's answer to those Maintenance calls without a token.</summary>
    public static KvError MaintenanceUserEmpty { get; } = new(StatusCode.Unknown, "auth: user name is empty");

    /// <summary>
    /// An auth command that would make the auth record longer than <see cref="KvStore.ClusterRecordMaxBytes"/>
    /// (ResourceExhausted; RaftKv's own: etcd keeps no limit). Refused the same way on every member.
    /// </summary>
    public static KvError AuthStoreFull { get; } = new(StatusCode.ResourceExhausted, "raftkv: too many users, roles or permissions for the auth store");
}
