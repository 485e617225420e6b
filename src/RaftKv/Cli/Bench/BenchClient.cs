using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Cli.Bench;

/// <summary>
/// One logical client: its channel (shared with other clients), stubs and random source. Only one request of a
/// client is in flight at a time, so its state needs no locking.
/// </summary>
public sealed class BenchClient
{
    private readonly KV.KVClient? _kv;
    private readonly Maintenance.MaintenanceClient? _maintenance;
    private readonly RaftPeer.RaftPeerClient? _peer;

    /// <summary>
    /// Creates client <paramref name="index"/> on <paramref name="channel"/> (null for local workloads such as
    /// fsync); <paramref name="seed"/> makes its key choices repeatable.
    /// </summary>
    public BenchClient(int index, GrpcChannel? channel, int seed)
    {
        Index = index;
        Random = new Random(seed);
        if (channel is null) return;
        _kv = new KV.KVClient(channel);
        _maintenance = new Maintenance.MaintenanceClient(channel);
        _peer = new RaftPeer.RaftPeerClient(channel);
    }

    /// <summary>Position among the clients (0-based).</summary>
    public int Index { get; }

    /// <summary>This client's random source (keys, read/write choice).</summary>
    public Random Random { get; }

    /// <summary>etcd KV stub.</summary>
    public KV.KVClient Kv => _kv ?? throw NoChannel();

    /// <summary>etcd Maintenance stub.</summary>
    public Maintenance.MaintenanceClient Maintenance => _maintenance ?? throw NoChannel();

    /// <summary>raftkv peer stub (peer-ping workload only).</summary>
    public RaftPeer.RaftPeerClient Peer => _peer ?? throw NoChannel();

    private static InvalidOperationException NoChannel() => new("this workload runs locally; the client has no channel");
}
