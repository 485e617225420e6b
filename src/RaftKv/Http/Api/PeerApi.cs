using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RaftKv.Http.Cluster;
using RaftKv.Http.Faults;

namespace RaftKv.Http.Api;

/// <summary>
/// Member-to-member endpoints on the peer port (the server routes <c>/raftkv.peer.*</c> only there): a member's
/// view of itself, fault actions on itself, and partition announcements. Fault partitions do not cut these off, so a
/// partitioned member can still be shown and healed.
/// </summary>
public static class PeerApi
{
    /// <summary>Maps the routes.</summary>
    public static void Map(IEndpointRouteBuilder app, LocalView local, FaultInjector faults)
    {
        app.MapGet(PeerClient.Prefix + "/view", () => Results.Json(local.Build()));
        app.MapPost(PeerClient.Prefix + "/fault/{action}", (string action, int? ms) => faults.ApplyToSelf(action, ms));
        app.MapPost(PeerClient.Prefix + "/isolation", (IsolationNotice notice) => faults.PeerAnnounced(notice));
    }
}
