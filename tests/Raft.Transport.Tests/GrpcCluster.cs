using System.Diagnostics;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Hosting.Tests;

namespace RaftKv.Raft.Transport.Tests;

/// <summary>
/// Three hosts over the real gRPC transport on loopback: every member's server starts first (ports picked by the
/// system), then the transports are made with everyone's address. Hosts start when the test says, so a member can
/// lag behind by not running yet.
/// </summary>
public sealed class GrpcCluster : IAsyncDisposable
{
    public static readonly ulong[] Ids = [1, 2, 3];
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Loopback connects are quick, but not on a loaded test machine: a failed connect would fail a snapshot.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private readonly List<TestPeer> _peers = [];
    private readonly Dictionary<ulong, Member> _members = [];

    public sealed record Member(RaftHost Host, PayloadStateMachine Machine, MemoryStorage Store, GrpcTransport Transport);

    public IReadOnlyDictionary<ulong, Member> Members => _members;

    /// <param name="payloads">Snapshots as descriptors plus payloads (true), or the whole state inline (false).</param>
    /// <param name="tampering">Per member, what the wire does to snapshots it receives.</param>
    /// <param name="chunkBytes">Snapshot chunk size of every member.</param>
    public static async Task<GrpcCluster> CreateAsync(bool payloads, IReadOnlyDictionary<ulong, ChunkTampering>? tampering = null, int chunkBytes = 64 * 1024)
    {
        var cluster = new GrpcCluster();
        foreach (var id in Ids) cluster._peers.Add(await TestPeer.StartAsync(tampering?.GetValueOrDefault(id)));
        for (var i = 0; i < Ids.Length; i++)
        {
            var id = Ids[i];
            var machine = new PayloadStateMachine(id, inline: !payloads);
            var transport = cluster._peers[i].Attach(new TransportOptions
            {
                LocalId = id, ClusterId = SnapshotWire.ClusterId, SnapshotChunkBytes = chunkBytes,
                Peers = Ids.Select((other, j) => (other, j)).Where(p => p.other != id).ToDictionary(p => p.other, p => cluster._peers[p.j].Address),
                SnapshotPayloads = payloads ? machine : null, ConnectTimeout = ConnectTimeout,
            });
            var store = new MemoryStorage();
            var host = new RaftHost(new RaftHostOptions
            {
                // Ten ticks of 10 ms: a member busy with other tests' servers can miss a heartbeat, so 30.
                Raft = new RaftConfig { Id = id, Voters = Ids, ElectionTimeoutTicks = 30 },
                TickInterval = TimeSpan.FromMilliseconds(10),
                SnapshotEveryEntries = 50,
            }, store, machine, transport);
            cluster._members[id] = new Member(host, machine, store, transport);
        }
        return cluster;
    }

    public void Start(ulong id) => _members[id].Host.Start();

    public async Task<Member> LeaderAsync()
    {
        Member? leader = null;
        await WaitUntilAsync(() =>
        {
            var leaders = _members.Values.Where(m => m.Host.Status?.Role == RaftRole.Leader).ToArray();
            leader = leaders.Length == 1 ? leaders[0] : null;
            return leader is not null;
        });
        return leader!;
    }

    /// <summary>Proposes on whoever leads, again on the new leader when leadership moved before the command was taken.</summary>
    public async Task ProposeAsync(byte[] command)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var leader = await LeaderAsync();
            try
            {
                await leader.Host.ProposeAsync(command);
                return;
            }
            catch (NotLeaderException) when (stopwatch.Elapsed < Bound)
            {
                // Not appended anywhere: safe to propose again.
            }
        }
    }

    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (stopwatch.Elapsed > Bound) throw new TimeoutException("condition not reached");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members.Values)
        {
            if (member.Host.Status is null) await member.Transport.DisposeAsync(); // never started: the host would not dispose it
            else await member.Host.DisposeAsync();
        }
        foreach (var peer in _peers) await peer.DisposeAsync();
    }
}
