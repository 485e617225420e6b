using Microsoft.Extensions.DependencyInjection;
using RaftKv.Http.Faults;
using RaftKv.Raft.Transport;

namespace RaftKv.Http;

/// <summary>Services the HTTP side needs before the app is built (called once from RaftKvServer).</summary>
public static class HttpServices
{
    /// <summary>Registers the partition state and its interceptor on the Raft peer service.</summary>
    public static void Add(IServiceCollection services)
    {
        services.AddSingleton<PartitionState>();
        services.AddGrpc().AddServiceOptions<RaftPeerService>(o => o.Interceptors.Add<PartitionInterceptor>())
            .AddServiceOptions<RaftKv.Server.Forwarding.WriteForwardingService>(o => o.Interceptors.Add<PartitionInterceptor>());
    }
}
