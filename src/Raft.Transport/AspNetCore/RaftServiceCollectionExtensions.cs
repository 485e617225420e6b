using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RaftKv.Raft.Hosting;

namespace RaftKv.Raft.Transport.AspNetCore;

/// <summary>
/// Registers a Raft member in an ASP.NET Core application. Pair with
/// <see cref="RaftEndpointRouteBuilderExtensions.MapRaft"/>, which serves the peer protocol on the app's endpoints.
/// </summary>
public static class RaftServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="TypedRaftHost{TCommand, TResult}"/> (resolve it to propose and read) and its
    /// <see cref="GrpcTransport"/>, started with the application and stopped with it (pending proposals then fail
    /// with <see cref="NodeStoppedException"/>), and gRPC itself. Throws <see cref="ArgumentException"/> at startup
    /// naming the first missing or invalid option.
    /// </summary>
    public static IServiceCollection AddRaft<TCommand, TResult>(this IServiceCollection services, Action<RaftOptions<TCommand, TResult>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new RaftOptions<TCommand, TResult>();
        configure(options);
        options.Validate();
        services.AddRaftTransport(sp => new GrpcTransport(options.BuildTransportOptions(), sp.GetService<ILoggerFactory>()?.CreateLogger("raft.transport")));
        services.AddSingleton(sp => new OwnedStorage(options.Storage!(sp)));
        services.AddSingleton(sp => new TypedRaftHost<TCommand, TResult>(options.BuildHostOptions(), sp.GetRequiredService<OwnedStorage>().Storage,
            options.StateMachine!(sp), options.Codec!, sp.GetRequiredService<GrpcTransport>(), sp.GetService<ILoggerFactory>()?.CreateLogger("raft")));
        services.AddHostedService(sp => new RaftHostService<TCommand, TResult>(sp.GetRequiredService<TypedRaftHost<TCommand, TResult>>(),
            sp.GetRequiredService<OwnedStorage>()));
        return services;
    }

    /// <summary>
    /// Registers only the gRPC transport (and gRPC), for an application that builds its own <see cref="RaftHost"/>
    /// around it: <see cref="RaftEndpointRouteBuilderExtensions.MapRaft"/> serves it to peers.
    /// </summary>
    public static IServiceCollection AddRaftTransport(this IServiceCollection services, Func<IServiceProvider, GrpcTransport> transport)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(transport);
        // Peer batches and snapshot chunks are bounded by the transport's own options, not by gRPC's 4 MB default.
        services.AddGrpc().AddServiceOptions<RaftPeerService>(o => o.MaxReceiveMessageSize = null);
        services.AddSingleton(transport);
        return services;
    }

    /// <summary>The storage <see cref="AddRaft{TCommand, TResult}"/> opened, disposed once the host has stopped.</summary>
    internal sealed class OwnedStorage(IRaftLogStorage storage)
    {
        public IRaftLogStorage Storage { get; } = storage;
    }

    /// <summary>Starts the host with the application and stops it (then its storage) on shutdown.</summary>
    private sealed class RaftHostService<TCommand, TResult>(TypedRaftHost<TCommand, TResult> host, OwnedStorage storage) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            host.Start();
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await host.DisposeAsync().ConfigureAwait(false);
            switch (storage.Storage)
            {
                case IAsyncDisposable d: await d.DisposeAsync().ConfigureAwait(false); break;
                case IDisposable d: d.Dispose(); break;
            }
        }
    }
}
