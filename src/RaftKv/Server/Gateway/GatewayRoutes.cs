using Google.Protobuf.Reflection;
using ProtoService = Google.Protobuf.Reflection.ServiceDescriptor;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.V3Electionpb;
using RaftKv.Etcd.Api.V3Lockpb;

namespace RaftKv.Server.Gateway;

/// <summary>
/// The JSON gateway's paths, as etcd's protos annotate them (google.api.http), each naming the gRPC method it calls.
/// Request and response types, and whether a method streams, come from the method's descriptor, not from this table.
/// </summary>
internal static class GatewayRoutes
{
    /// <summary>Path (after the <c>/v3</c> prefix is normalized) to method.</summary>
    public static IReadOnlyDictionary<string, MethodDescriptor> ByPath { get; } = Build();

    /// <summary>etcd's older API prefixes, served as <c>/v3/</c>.</summary>
    public static readonly string[] LegacyPrefixes = ["/v3beta/", "/v3alpha/"];

    /// <summary>The path with an older prefix rewritten to <c>/v3/</c>; null when it is not a gateway path.</summary>
    public static string? Normalize(string path)
    {
        if (path.StartsWith("/v3/", StringComparison.Ordinal)) return path;
        foreach (var prefix in LegacyPrefixes)
            if (path.StartsWith(prefix, StringComparison.Ordinal)) return string.Concat("/v3/", path.AsSpan(prefix.Length));
        return null;
    }

    private static Dictionary<string, MethodDescriptor> Build()
    {
        var kv = KV.Descriptor;
        var watch = RaftKv.Etcd.Api.Watch.Descriptor;
        var lease = Lease.Descriptor;
        var cluster = RaftKv.Etcd.Api.Cluster.Descriptor;
        var maintenance = Maintenance.Descriptor;
        var auth = RaftKv.Etcd.Api.Auth.Descriptor;
        var routes = new (string Path, ProtoService Service, string Method)[]
        {
            ("/v3/kv/range", kv, "Range"),
            ("/v3/kv/put", kv, "Put"),
            ("/v3/kv/deleterange", kv, "DeleteRange"),
            ("/v3/kv/txn", kv, "Txn"),
            ("/v3/kv/compaction", kv, "Compact"),
            ("/v3/watch", watch, "Watch"),
            ("/v3/lease/grant", lease, "LeaseGrant"),
            ("/v3/lease/revoke", lease, "LeaseRevoke"),
            ("/v3/kv/lease/revoke", lease, "LeaseRevoke"),
            ("/v3/lease/keepalive", lease, "LeaseKeepAlive"),
            ("/v3/lease/timetolive", lease, "LeaseTimeToLive"),
            ("/v3/kv/lease/timetolive", lease, "LeaseTimeToLive"),
            ("/v3/lease/leases", lease, "LeaseLeases"),
            ("/v3/kv/lease/leases", lease, "LeaseLeases"),
            ("/v3/cluster/member/add", cluster, "MemberAdd"),
            ("/v3/cluster/member/remove", cluster, "MemberRemove"),
            ("/v3/cluster/member/update", cluster, "MemberUpdate"),
            ("/v3/cluster/member/list", cluster, "MemberList"),
            ("/v3/cluster/member/promote", cluster, "MemberPromote"),
            ("/v3/maintenance/alarm", maintenance, "Alarm"),
            ("/v3/maintenance/status", maintenance, "Status"),
            ("/v3/maintenance/defragment", maintenance, "Defragment"),
            ("/v3/maintenance/hash", maintenance, "Hash"),
            ("/v3/maintenance/hashkv", maintenance, "HashKV"),
            ("/v3/maintenance/snapshot", maintenance, "Snapshot"),
            ("/v3/maintenance/transfer-leadership", maintenance, "MoveLeader"),
            ("/v3/maintenance/downgrade", maintenance, "Downgrade"),
            ("/v3/auth/enable", auth, "AuthEnable"),
            ("/v3/auth/disable", auth, "AuthDisable"),
            ("/v3/auth/status", auth, "AuthStatus"),
            ("/v3/auth/authenticate", auth, "Authenticate"),
            ("/v3/auth/user/add", auth, "UserAdd"),
            ("/v3/auth/user/get", auth, "UserGet"),
            ("/v3/auth/user/list", auth, "UserList"),
            ("/v3/auth/user/delete", auth, "UserDelete"),
            ("/v3/auth/user/changepw", auth, "UserChangePassword"),
            ("/v3/auth/user/grant", auth, "UserGrantRole"),
            ("/v3/auth/user/revoke", auth, "UserRevokeRole"),
            ("/v3/auth/role/add", auth, "RoleAdd"),
            ("/v3/auth/role/get", auth, "RoleGet"),
            ("/v3/auth/role/list", auth, "RoleList"),
            ("/v3/auth/role/delete", auth, "RoleDelete"),
            ("/v3/auth/role/grant", auth, "RoleGrantPermission"),
            ("/v3/auth/role/revoke", auth, "RoleRevokePermission"),
            ("/v3/lock/lock", RaftKv.Etcd.Api.V3Lockpb.Lock.Descriptor, "Lock"),
            ("/v3/lock/unlock", RaftKv.Etcd.Api.V3Lockpb.Lock.Descriptor, "Unlock"),
            ("/v3/election/campaign", Election.Descriptor, "Campaign"),
            ("/v3/election/proclaim", Election.Descriptor, "Proclaim"),
            ("/v3/election/leader", Election.Descriptor, "Leader"),
            ("/v3/election/observe", Election.Descriptor, "Observe"),
            ("/v3/election/resign", Election.Descriptor, "Resign"),
        };
        var map = new Dictionary<string, MethodDescriptor>(StringComparer.Ordinal);
        foreach (var (path, service, name) in routes)
            map.Add(path, service.FindMethodByName(name) ?? throw new InvalidOperationException($"gateway route {path}: {service.FullName} has no method {name}"));
        return map;
    }
}
