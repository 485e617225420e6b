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
using RaftKv.Raft.Transport.AspNetCore;

namespace RaftKv.Server;

/// <summary>Runs one member: storage, Raft host, peer transport, client gRPC and the HTTP side, in one Kestrel host.</summary>
public static partial class RaftKvServer
{
    /// <summary>Exit codes: 0 clean stop, 1 runtime failure (port in use, locked or foreign data directory, corrupt data), 2 bad flags.</summary>
    public static async Task<int> RunAsync(ServerSettings settings, LogLevel logLevel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var startup = new StartupTimeline();
        if (settings.Backend == StoreBackend.Disk) Kv.Backend.KvBackend.PrewarmNative(); // meanwhile: the log opens
        MemberIdentity? stored;
        try
        {
            stored = DataDirectory.ReadIdentity(settings.DataDir);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"raftkv serve: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        if (File.Exists(DataDirectory.RemovedMarkerPath(settings.DataDir)))
        {
            var why = (await File.ReadAllTextAsync(DataDirectory.RemovedMarkerPath(settings.DataDir), cancellationToken).ConfigureAwait(false)).Trim();
            await Console.Error.WriteLineAsync($"raftkv serve: {why}").ConfigureAwait(false);
            return 1;
        }
        // A joiner learns its id and the cluster's from the running members the first time; after that its data
        // directory remembers them, whatever --initial-cluster-state says then (the flags' hashed ids describe the
        // cluster's first members only; as in etcd, the flag is ignored once the data directory exists).
        if (stored is null && settings.InitialClusterState == InitialClusterState.Existing)
        {
            var (joined, error) = await Cluster.ClusterJoin.ResolveAsync(settings, cancellationToken).ConfigureAwait(false);
            if (joined is null)
            {
                await Console.Error.WriteLineAsync($"raftkv serve: {error}").ConfigureAwait(false);
                return 1;
            }
            settings = settings with { Membership = joined };
        }
        else if (stored is not null && stored.Name == settings.Name && stored.Joined)
        {
            settings = settings with { Membership = Rejoined(settings, stored) };
        }
        var self = settings.Self;
        var identity = new MemberIdentity(self.Name, self.Id, settings.Membership.ClusterId,
            string.Join(",", settings.Membership.Members.Select(m => $"{m.Name}={m.PeerUrl.GetLeftPart(UriPartial.Authority)}")),
            Joined: stored?.Joined ?? settings.InitialClusterState == InitialClusterState.Existing);

        DurableStorage storage;
        try
        {
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
                // A new cluster's configuration is the head of its log, the same entries on every first member; a
                // joiner's log starts empty and it learns the configuration from the leader, from index 1 or a snapshot.
                if (settings.InitialClusterState == InitialClusterState.New) Bootstrap(storage, settings.Membership);
                DataDirectory.WriteIdentity(settings.DataDir, identity);
            }
            else if (BootstrapMissing(storage) is { } legacy)
            {
                storage.Dispose();
                await Console.Error.WriteLineAsync($"raftkv serve: {legacy}").ConfigureAwait(false);
                return 1;
            }
        }
        catch (Exception e) when (e is StorageException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"raftkv serve: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        using var storageLease = storage;
        startup.Mark(StartupTimeline.Phase.Log);
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
        startup.Mark(StartupTimeline.Phase.Store);
        // What the store held when opened: the log replays the entries after it (after a power loss, more of them).
        var storeAppliedAtOpen = stateMachineOpened.Store.AppliedIndex;
        if (stateMachineOpened.Members.WasRemoved(self.Id))
        {
            stateMachineOpened.Dispose();
            await Console.Error.WriteLineAsync($"raftkv serve: {Removed(self)}").ConfigureAwait(false);
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
        // The gateway reaches the gRPC services through a private socket (see Tls.GatewaySocket), TLS or not: over
        // loopback, the per-connection request budget would charge every gateway client's calls to its one connection.
        using var gatewaySocket = new Tls.GatewaySocket();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = settings.MaxRequestBytes + 1024 * 1024;
            // The client port's HTTP/2 connections look like TLS to Kestrel (see Gateway.ProtocolSniffer); their
            // requests say :scheme http, which Kestrel otherwise refuses as not matching the transport.
            kestrel.AllowAlternateSchemes = true;
            kestrel.AddServerHeader = false; // as etcd: no Server header
            kestrel.Limits.Http2.MaxStreamsPerConnection = settings.MaxConcurrentStreams;
            foreach (var url in settings.ListenClientUrls) Listen(kestrel, url, HttpProtocols.Http2, settings.ClientTls);
            foreach (var url in settings.ListenPeerUrls) Listen(kestrel, url, HttpProtocols.Http2, settings.PeerTls);
            foreach (var url in settings.ListenHttpUrls) Listen(kestrel, url, HttpProtocols.Http1, settings.ClientTls);
            kestrel.ListenUnixSocket(gatewaySocket.Path, o => o.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null; // peer batches and snapshot chunks; client requests are checked per call
            o.EnableDetailedErrors = false;
            o.Interceptors.Add<Auth.AuthInterceptor>(); // every etcd call is checked (see there); peer calls pass through
        });

        NodeContext? nodeContext = null; // created after Build (it needs the app's loggers); resolved lazily by services
        string NameOf(ulong id) => nodeContext?.NameOf(id) ?? settings.Membership.NameOf(id);
        var peers = stateMachineOpened.Members.IsEmpty
            ? settings.Membership.Members.Where(m => m.Id != self.Id).ToDictionary(m => m.Id, m => m.PeerUrl)
            : PeersOf(stateMachineOpened.Members, self.Id);
        var transport = new GrpcTransport(new TransportOptions
        {
            LocalId = self.Id, ClusterId = settings.Membership.ClusterId, Peers = peers, NameOf = NameOf,
            SnapshotPayloads = stateMachineOpened.UsesPayloads ? stateMachineOpened : null,
            ConfigurePeerHandler = settings.PeerTls is { } peerTls ? handler => Tls.PeerTlsClient.Configure(handler, peerTls) : null,
        });
        builder.Services.AddRaftTransport(_ => transport);
        RaftKv.Http.HttpServices.Add(builder.Services);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(sp => new Limits.ConnectionGate(settings.Limits, TimeProvider.System,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("RaftKv.Server.Limits")));
        builder.Services.AddSingleton(_ => nodeContext ?? throw new InvalidOperationException("node not ready"));
        builder.Services.AddHostedService<Leases.LeaseExpiry>();
        builder.Services.AddHostedService<Leases.LeaseCheckpointer>();
        builder.Services.AddHostedService<CompactionStepper>();
        builder.Services.AddHostedService<Cluster.MemberPublisher>();
        builder.Services.AddHostedService<Cluster.RemovalDetector>();
        builder.Services.AddHostedService<Cluster.LearnerPromoter>();

        var app = builder.Build();
        startup.Mark(StartupTimeline.Phase.Host);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("raftkv");
        var raftLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("raft");
        var electionTicks = Math.Max(2, settings.ElectionTimeoutMs / settings.HeartbeatIntervalMs);
        using var stateMachine = stateMachineOpened;
        var host = new RaftHost(new RaftHostOptions
        {
            Raft = new RaftConfig
            {
                Id = self.Id,
                Voters = [], // the configuration is in the log (see Bootstrap) and in snapshots
                ElectionTimeoutTicks = electionTicks,
                HeartbeatTimeoutTicks = 1,
                NameOf = NameOf,
                PreVote = true,
                CheckQuorum = true,
                // No advance at creation: a member that campaigned before it listened, or before its peers did, lost
                // that round's answers and its senders backed off (about 1 s more to a leader after a restart of all).
                // ElectionTickAdvance fast-forwards the timer once both hold.
            },
            TickInterval = TimeSpan.FromMilliseconds(settings.HeartbeatIntervalMs),
            // Heartbeats and the snapshot's steps wait for a core behind RocksDB's and the clients' threads otherwise.
            LoopThreadNice = ServerLimits.RaftLoopNice,
            SnapshotEveryEntries = settings.SnapshotCount,
        }, storage, stateMachine, transport, raftLogger);
        var node = new NodeContext(settings, host, stateMachine, transport);
        nodeContext = node;
        var peersGate = new Lock(); // the table's replacements and PeerRefresher's additions, one at a time
        stateMachine.MembersChanged = table =>
        {
            if (table.IsEmpty) return;
            lock (peersGate) transport.SetPeers(PeersOf(table, self.Id));
            if (table.WasRemoved(self.Id)) node.MarkRemoved();
        };

        MapEndpoints(app, settings, node, gatewaySocket);

        // The Raft host first: it restores the state machine from the latest snapshot, which takes seconds for a large
        // store. Listening before it would serve serializable reads from an empty store and fail every other request
        // with "the host was not started" (a gRPC Unknown) meanwhile; as in etcd, clients are served once ready.
        host.Start();
        startup.Mark(StartupTimeline.Phase.Raft);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Cluster.ElectionTickAdvance.RunAsync(host, transport, electionTicks, settings.InitialElectionTickAdvance, listening.Task, raftLogger, app.Lifetime.ApplicationStopping);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            listening.TrySetResult();
        }
        catch (IOException e)
        {
            await Console.Error.WriteLineAsync($"raftkv serve: cannot listen: {e.Message}").ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
            return 1;
        }
        startup.Mark(StartupTimeline.Phase.Listen);
        // Off the path to serving: peers this member's table may lack (see PeerRefresher), from the running members.
        _ = Cluster.PeerRefresher.RefreshAsync(settings, transport, peersGate, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RaftKv.Server.Cluster"),
            app.Lifetime.ApplicationStopping);
        LogStarted(logger, self.Name, self.Id, settings.Membership.ClusterId, string.Join(",", settings.ListenClientUrls), string.Join(",", settings.ListenPeerUrls),
            settings.ListenHttpUrls.Count == 0 ? "-" : string.Join(",", settings.ListenHttpUrls), storage.LastIndex, storage.HardState.Term, storeAppliedAtOpen, startup.ToString());
        try
        {
            await Task.WhenAny(app.WaitForShutdownAsync(cancellationToken), host.Completion, node.Removed).ConfigureAwait(false);
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
        if (node.Removed.IsCompleted)
        {
            try
            {
                DataDirectory.MarkRemoved(settings.DataDir, Removed(self));
            }
            catch (IOException e)
            {
                await Console.Error.WriteLineAsync($"raftkv serve: could not record the removal in {settings.DataDir}: {e.Message}").ConfigureAwait(false);
            }
            await Console.Error.WriteLineAsync($"raftkv serve: {Removed(self)}").ConfigureAwait(false);
            return 0;
        }
        LogStopped(logger, self.Name);
        return 0;
    }

    private static string Removed(Member self) =>
        $"member '{self.Name}' ({self.Id:x16}) has been removed from the cluster; it may not rejoin with this data directory: " +
        "wipe it and add the member again (etcdctl member add) to bring it back";

    // The first members' configuration as committed entries at the head of the log, in id order, so that every first
    // member writes the same bytes whatever order its --initial-cluster lists them in.
    private static void Bootstrap(DurableStorage storage, Membership membership)
    {
        var voters = membership.Members.OrderBy(m => m.Id).Select(m => (m.Id, (ReadOnlyMemory<byte>)Google.Protobuf.MessageExtensions.ToByteArray(new Cluster.MemberChange
        {
            Member = new RaftKv.Etcd.Api.Member { ID = m.Id, Name = m.Name, PeerURLs = { m.PeerUrl.GetLeftPart(UriPartial.Authority) } },
        }))).ToArray();
        storage.Save(RaftBootstrap.InitialHardState(voters.Length), RaftBootstrap.InitialEntries(voters), null, mustSync: true);
    }

    // A data directory from before the configuration lived in the log: its log starts with a normal entry and no
    // snapshot holds a configuration, so this version would never learn its voters.
    private static string? BootstrapMissing(DurableStorage storage)
    {
        if (storage.Snapshot is not null || storage.LastIndex == 0 || storage.FirstIndex > 1) return null;
        var first = new List<Entry>(1);
        if (storage.GetEntries(1, 2, long.MaxValue, first) != LogLookup.Ok || first.Count == 0 || first[0].Type == EntryType.ConfChange) return null;
        return "this data directory was written by a raftkv that kept the cluster's configuration outside the Raft log; " +
            "this version cannot read it: start the member with a fresh data directory (and restore a snapshot with etcdctl if its data is needed)";
    }

    // A joined member restarting: its id and cluster id are the data directory's, the other members the flags'.
    private static Membership Rejoined(ServerSettings settings, MemberIdentity stored) =>
        Membership.Of([.. settings.Membership.Members.Select(m => m.Name == stored.Name ? m with { Id = stored.MemberId } : m)], stored.ClusterId);

    private static Dictionary<ulong, Uri> PeersOf(Cluster.MemberTable table, ulong self)
    {
        var peers = new Dictionary<ulong, Uri>();
        foreach (var m in table.Members)
        {
            if (m.Id != self && m.FirstPeerUri is { } url) peers[m.Id] = url;
        }
        return peers;
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

    private static void Listen(KestrelServerOptions kestrel, Uri url, HttpProtocols protocols, Tls.TlsEndpoint? tls)
    {
        Action<ListenOptions> configure = o =>
        {
            o.Protocols = protocols;
            var isClientPort = protocols == HttpProtocols.Http2 && o.ApplicationServices.GetService<ServerSettings>() is { } s && s.ListenClientUrls.Contains(url);
            // First of all: a connection over the limits is closed before its handshake (client and HTTP ports).
            if (isClientPort || protocols == HttpProtocols.Http1) o.ApplicationServices.GetRequiredService<Limits.ConnectionGate>().Use(o);
            if (url.Scheme == Uri.UriSchemeHttps)
            {
                // TLS first: the middlewares below see plaintext. On the client port ALPN picks h2 (gRPC) or
                // http/1.1 (the JSON gateway), so no sniffing is needed.
                if (isClientPort) o.Protocols = HttpProtocols.Http1AndHttp2;
                Tls.KestrelTls.Use(o, tls!, o.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("RaftKv.Server.Tls"));
            }
            else if (isClientPort)
            {
                // etcd's client port: gRPC and the JSON gateway share it.
                Gateway.ProtocolSniffer.Use(o);
            }
            if (isClientPort) Http2.AuthorityRepairMiddleware.UseOnClientListener(o, url);
        };
        if (url.Host is "localhost") kestrel.ListenLocalhost(url.Port, configure);
        else if (url.Host is "0.0.0.0" or "*" or "[::]") kestrel.ListenAnyIP(url.Port, configure);
        else if (IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip)) kestrel.Listen(ip, url.Port, configure);
        else throw new FormatException($"cannot listen on host '{url.Host}': give an IP address");
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "{Name} ({MemberId:x16}) of cluster {ClusterId:x16} serving clients on {Client}, peers on {Peer}, http on {Http}; log ends at {LastIndex}, term {Term}; store opened at applied index {StoreApplied}; started in {Startup}")]
    private static partial void LogStarted(ILogger logger, string name, ulong memberId, ulong clusterId, string client, string peer, string http, ulong lastIndex, ulong term, ulong storeApplied, string startup);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Name} stopped")]
    private static partial void LogStopped(ILogger logger, string name);
}
