namespace RaftKv.Server;

/// <summary>
/// The etcd version raftkv reports, in <c>Maintenance.Status</c>, snapshot downloads and <c>GET /version</c>: the one
/// place it is written. Clients switch features on by it, so it must name a release whose behaviour we implement.
/// </summary>
/// <remarks>
/// Kubernetes (<c>storage/etcd3/feature</c>) turns off watch progress requests for servers below 3.4.25 and for 3.5.0
/// to 3.5.7, whose RequestProgress answered with the wrong watch id or too early. raftkv answers it with 3.5.8+
/// semantics (watch_id -1, sent once every watcher of the stream has caught up), so it reports a later 3.5 release.
/// </remarks>
public static class EtcdVersion
{
    /// <summary>The server version (etcd's <c>etcdserver</c>).</summary>
    public const string Server = "3.5.17";

    /// <summary>The cluster version: major.minor.0, as etcd reports it (etcd's <c>etcdcluster</c>).</summary>
    public const string Cluster = "3.5.0";
}
