using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RaftKv.Raft;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Storage;
using RaftKv.Raft.Transport;

namespace RaftKv.Server;

/// <summary>Runs one member: storage, Raft host, peer transport, client gRPC and the HTTP side, in one Kestrel host.</summary>
public static partial class RaftKvServer
{
    /// <summary>Exit codes: 0 clean stop, 1 runtime failure (port in use, locked or foreign data directory, corrupt data), 2 bad flags.</summary>
    public static async Task<int> RunAsync(ServerSettings settings, LogLevel logLevel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var self = settings.Self;
        var identity = new MemberIdentity(self.Name, self.Id, settings.Membership.ClusterId,
            string.Join(",", settings.Membership.Members.Select(m => $"{m.Name}={m.PeerUrl.GetLeftPart(UriPartial.Authority)}")));

        DurableStorage storage;
        try
        {
            var stored = DataDirectory.ReadIdentity(settings.DataDir);
            if (stored is not null && DataDirectory.Mismatch(stored, identity, settings.DataDir) is { } mismatch)
            {
                await Console.Error.WriteLineAsync($"raftkv serve: {mismatch}").ConfigureAwait(false);
                return 1;
            }
            storage = DurableStorage.Open(DataDirectory.MemberPath(settings.DataDir), ServerLimits.Storage);
            if (stored is null)
            {
                if (storage.LastIndex > 0 || !storage.HardState.IsEmpty)
                {
                    storage.Dispose();
                    await Console.Error.WriteLineAsync($"raftkv serve: {DataDirectory.MemberPath(settings.DataDir)} holds a Raft log but no identity.json; refusing to guess whose it is").ConfigureAwait(false);
                    return 1;
                }
                DataDirectory.WriteIdentity(settings.DataDir, identity);
            }
        }
        catch (Exception e) when (e is StorageException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"raftkv serve: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        using var storageLease = storage;
        EtcdStateMachine stateMachineOpened;
        try
        {
            stateMachineOpened = OpenStateMachine(settings);
        }
        catch (Exception e) when (e is Kv.Backend.BackendFormatException or Kv.Backend.Snapshots.StateDirectoryCorruptException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"raftkv serve: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        // Request handlers may block briefly on the store's lock; a few spare pool threads keep bursts of client
        // requests from starving the transport's I/O (the Raft loop itself has its own thread).
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(completionPorts, 32));
        // No configuration files are read (flags and RAFTKV_* variables are), so nothing needs watching: the default
        // watcher on the working directory saw every log write of a data directory below it.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
            o.IncludeScopes = false;
        });
        builder.Logging.SetMinimumLevel(logLevel);
        // Framework chatter stays below our own lines unless asked for.
        builder.Logging.AddFilter("Microsoft", logLevel <= LogLevel.Debug ? LogLevel.Information : LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        // Kestrel warns at start that a cleartext Http1AndHttp2 endpoint speaks HTTP/1.1 only; the client port's
        // sniffer makes that untrue, so the warning would mislead.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", logLevel <= LogLevel.Debug ? LogLevel.Information : LogLevel.Error);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = settings.MaxRequestBytes + 1024 * 1024;
            // The client port's HTTP/2 connections look like TLS to Kestrel (see Gateway.ProtocolSniffer); their
            // requests say :scheme http, which Kestrel otherwise refuses as not matching the transport.
            kestrel.AllowAlternateSchemes = true;
            kestrel.AddServerHeader = false; // as etcd: no Server header
            foreach (var url in settings.ListenClientUrls) Listen(kestrel, url, HttpProtocols.Http2);
            foreach (var url in settings.ListenPeerUrls) Listen(kestrel, url, HttpProtocols.Http2);
            foreach (var url in settings.ListenHttpUrls) Listen(kestrel, url, HttpProtocols.Http1);
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null; // peer batches and snapshot chunks; client requests are checked per call
            o.EnableDetailedErrors = false;
        });

        var peers = settings.Membership.Members.Where(m => m.Id != self.Id).ToDictionary(m => m.Id, m => m.PeerUrl);
        var transport = new GrpcTransport(new TransportOptions
        {
            LocalId = self.Id, ClusterId = settings.Membership.ClusterId, Peers = peers, NameOf = settings.Membership.NameOf,
            LocalName = self.Name, LocalClientUrls = settings.AdvertiseClientUrls.Select(u => u.GetLeftPart(UriPartial.Authority)).ToArray(),
            SnapshotPayloads = stateMachineOpened.UsesPayloads ? stateMachineOpened : null,
        });
        builder.Services.AddSingleton(transport);
        RaftKv.Http.HttpServices.Add(builder.Services);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        builder.Services.AddSingleton(settings);
        NodeContext? nodeContext = null; // created after Build (it needs the app's loggers); resolved lazily by services
        builder.Services.AddSingleton(_ => nodeContext ?? throw new InvalidOperationException("node not ready"));
        builder.Services.AddHostedService<Leases.LeaseExpiry>();
        builder.Services.AddHostedService<Leases.LeaseCheckpointer>();

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("raftkv");
        var raftLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("raft");
        var electionTicks = Math.Max(2, settings.ElectionTimeoutMs / settings.HeartbeatIntervalMs);
        using var stateMachine = stateMachineOpened;
        var host = new RaftHost(new RaftHostOptions
        {
            Raft = new RaftConfig
            {
                Id = self.Id,
                Voters = settings.Membership.Members.Select(m => m.Id).ToArray(),
                ElectionTimeoutTicks = electionTicks,
                HeartbeatTimeoutTicks = 1,
                NameOf = settings.Membership.NameOf,
                PreVote = true,
                CheckQuorum = true,
                // A member that boots campaigns within one heartbeat to one timeout, not after a whole timeout: after
                // a restart of every member (etcd does the same), the cluster serves about an election timeout sooner.
                InitialElectionTickAdvance = electionTicks - 1,
            },
            TickInterval = TimeSpan.FromMilliseconds(settings.HeartbeatIntervalMs),
            SnapshotEveryEntries = settings.SnapshotCount,
        }, storage, stateMachine, transport, raftLogger);
        var node = new NodeContext(settings, host, stateMachine, transport);
        transport.ForwardHandler = (command, ct) => Leases.LeaseGateway.TryAnswerForwarded(node.Leases, command, ct) ?? node.Proposer.HandleForwardedAsync(command, ct);
        nodeContext = node;

        MapEndpoints(app, settings, node);

        // The Raft host first: it restores the state machine from the latest snapshot, which takes seconds for a large
        // store. Listening before it would serve serializable reads from an empty store and fail every other request
        // with "the host was not started" (a gRPC Unknown) meanwhile; as in etcd, clients are served once ready.
        host.Start();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await Console.Error.WriteLineAsync($"raftkv serve: cannot listen: {e.Message}").ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
            return 1;
        }
        LogStarted(logger, self.Name, self.Id, settings.Membership.ClusterId, string.Join(",", settings.ListenClientUrls), string.Join(",", settings.ListenPeerUrls),
            settings.ListenHttpUrls.Count == 0 ? "-" : string.Join(",", settings.ListenHttpUrls), storage.LastIndex, storage.HardState.Term);
        try
        {
            await Task.WhenAny(app.WaitForShutdownAsync(cancellationToken), host.Completion).ConfigureAwait(false);
        }
        finally
        {
            await host.DisposeAsync().ConfigureAwait(false);
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
        if (host.Completion.IsFaulted)
        {
            await Console.Error.WriteLineAsync($"raftkv serve: stopped by a fatal error: {host.Completion.Exception?.GetBaseException().Message}").ConfigureAwait(false);
            return 1;
        }
        LogStopped(logger, self.Name);
        return 0;
    }

    /// <summary>The store the flags ask for: on disk under <c>member/state</c> (opened in place), or empty in memory.</summary>
    private static EtcdStateMachine OpenStateMachine(ServerSettings settings)
    {
        var options = new Kv.KvStoreOptions { QuotaBytes = settings.QuotaBackendBytes, MaxRequestBytes = settings.MaxRequestBytes };
        var watchLimits = Watch.WatchLimits.Default with
        {
            ProgressNotifyInterval = settings.WatchProgressNotifyInterval,
            StreamsMax = settings.MaxWatchStreams,
            WatchersPerStreamMax = settings.MaxWatchersPerStream,
        };
        if (settings.Backend == StoreBackend.Memory) return new EtcdStateMachine(options, watchLimits);
        var backendOptions = Kv.Backend.KvBackendOptions.Default with { BlockCacheSizeBytes = settings.BackendCacheBytes };
        return new EtcdStateMachine(Kv.KvStore.OpenOnDisk(DataDirectory.StatePath(settings.DataDir), options, backendOptions), watchLimits);
    }

    private static void Listen(KestrelServerOptions kestrel, Uri url, HttpProtocols protocols)
    {
        Action<ListenOptions> configure = o =>
        {
            o.Protocols = protocols;
            if (protocols == HttpProtocols.Http2 && o.ApplicationServices.GetService<ServerSettings>() is { } s && s.ListenClientUrls.Contains(url))
            {
                // etcd's client port: gRPC and the JSON gateway share it.
                Gateway.ProtocolSniffer.Use(o);
                Http2.AuthorityRepairMiddleware.UseOnClientListener(o, url);
            }
        };
        if (url.Host is "localhost") kestrel.ListenLocalhost(url.Port, configure);
        else if (url.Host is "0.0.0.0" or "*" or "[::]") kestrel.ListenAnyIP(url.Port, configure);
        else if (IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip)) kestrel.Listen(ip, url.Port, configure);
        else throw new FormatException($"cannot listen on host '{url.Host}': give an IP address");
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "{Name} ({MemberId:x16}) of cluster {ClusterId:x16} serving clients on {Client}, peers on {Peer}, http on {Http}; log ends at {LastIndex}, term {Term}")]
    private static partial void LogStarted(ILogger logger, string name, ulong memberId, ulong clusterId, string client, string peer, string http, ulong lastIndex, ulong term);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Name} stopped")]
    private static partial void LogStopped(ILogger logger, string name);
}
