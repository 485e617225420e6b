using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace RaftKv.Raft.Transport.AspNetCore;

/// <summary>Serves the Raft peer protocol on an ASP.NET Core application's endpoints.</summary>
public static class RaftEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <see cref="RaftPeerService"/> (the gRPC service peers send messages and snapshots to) over the
    /// <see cref="GrpcTransport"/> registered by <see cref="RaftServiceCollectionExtensions.AddRaft{TCommand, TResult}"/>
    /// or <see cref="RaftServiceCollectionExtensions.AddRaftTransport"/>. The endpoint needs HTTP/2: listen with
    /// <c>HttpProtocols.Http2</c> (cleartext) or HTTPS (TLS, Kestrel's own configuration). Returns the builder for
    /// conventions (<c>RequireHost</c> to keep peer traffic on one port, authorization).
    /// </summary>
    public static GrpcServiceEndpointConventionBuilder MapRaft(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapGrpcService<RaftPeerService>();
    }
}
