using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Apps;

/// <summary>The application tests share one collection: each runs several server and application processes, and the machine has 2 cores.</summary>
[CollectionDefinition(Name)]
public sealed class AppsCollection
{
    public const string Name = "apps";
}

/// <summary>Which server an application test runs against.</summary>
public enum Backend
{
    /// <summary>A real etcd 3.4 (Debian etcd-server): the reference that proves the test itself is right.</summary>
    Etcd,

    /// <summary>raftkv members (src/RaftKv), serving etcd's JSON gateway on the client port as etcd does.</summary>
    RaftKv,
}

/// <summary>A running 3-member cluster of either kind, seen by an application only as its client URLs.</summary>
public sealed class AppBackend : IAsyncDisposable
{
    private readonly EtcdCluster? _etcd;
    private readonly ProcessCluster? _raftkv;

    private AppBackend(Backend kind, EtcdCluster? etcd, ProcessCluster? raftkv)
    {
        Kind = kind;
        _etcd = etcd;
        _raftkv = raftkv;
        ClientUrls = etcd?.ClientUrls ?? raftkv!.Members.Select(m => m.ClientUrl).ToArray();
    }

    public Backend Kind { get; }

    /// <summary>Every member's client URL (<c>http://127.0.0.1:port</c>), where both gRPC and the JSON gateway are served.</summary>
    public IReadOnlyList<string> ClientUrls { get; }

    /// <summary>host:port of every member, as Patroni's <c>etcd3.hosts</c> takes them.</summary>
    public string HostPorts => string.Join(',', ClientUrls.Select(u => new Uri(u).Authority));

    public string Diagnostics() => _etcd?.Diagnostics() ?? _raftkv!.Diagnostics();

    public static async Task<AppBackend> StartAsync(Backend kind, int size = 3) => kind switch
    {
        Backend.Etcd => new AppBackend(kind, await EtcdCluster.StartAsync(size).ConfigureAwait(false), null),
        Backend.RaftKv => new AppBackend(kind, null, await ProcessCluster.StartAsync(size).ConfigureAwait(false)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public async ValueTask DisposeAsync()
    {
        if (_etcd is not null) await _etcd.DisposeAsync().ConfigureAwait(false);
        if (_raftkv is not null) await _raftkv.DisposeAsync().ConfigureAwait(false);
    }
}
