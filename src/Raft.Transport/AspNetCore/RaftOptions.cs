using RaftKv.Raft.Hosting;

namespace RaftKv.Raft.Transport.AspNetCore;

/// <summary>
/// What <see cref="RaftServiceCollectionExtensions.AddRaft{TCommand, TResult}"/> needs to run one member of a static
/// cluster over gRPC: this member's id, every member's peer URL, the storage, the state machine and its codec.
/// </summary>
/// <typeparam name="TCommand">What a proposal carries.</typeparam>
/// <typeparam name="TResult">What applying a command returns to its proposer.</typeparam>
public sealed class RaftOptions<TCommand, TResult>
{
    /// <summary>This member's id: non-zero, and a key of <see cref="Members"/>.</summary>
    public ulong NodeId { get; set; }

    /// <summary>Identifies the cluster; peers with another id are refused. The same on every member.</summary>
    public ulong ClusterId { get; set; } = 1;

    /// <summary>
    /// Every member's id and peer URL (http://host:port, or https:// with <see cref="TransportOptions.PeerTls"/>),
    /// this one included: the voters of a new cluster (ignored once storage holds a configuration) and where to send.
    /// </summary>
    public IDictionary<ulong, Uri> Members { get; } = new Dictionary<ulong, Uri>();

    /// <summary>
    /// Opens this member's log storage (for durability, <c>DurableStorage.Open(directory)</c> from RaftKv.Raft.Storage;
    /// <see cref="MemoryStorage"/> loses everything on exit). Disposed after the host stopped when it is disposable.
    /// </summary>
    public Func<IServiceProvider, IRaftLogStorage>? Storage { get; set; }

    /// <summary>Creates the state machine (one per member; it must be deterministic).</summary>
    public Func<IServiceProvider, IStateMachine<TCommand, TResult>>? StateMachine { get; set; }

    /// <summary>Encodes commands into log entries and back (the same on every member).</summary>
    public ICommandCodec<TCommand>? Codec { get; set; }

    /// <summary>How often the node's clock ticks (100 ms by default): heartbeats go every tick.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Silent ticks before a follower campaigns (10 by default; the real timeout is randomized in [n, 2n) ticks).</summary>
    public int ElectionTimeoutTicks { get; set; } = 10;

    /// <summary>Adjusts the host options built from the values above (snapshot cadence, limits, pre-vote, ...).</summary>
    public Func<RaftHostOptions, RaftHostOptions>? ConfigureHost { get; set; }

    /// <summary>Adjusts the transport options built from the values above (TLS: <c>t =&gt; t with { PeerTls = ... }</c>, queue sizes).</summary>
    public Func<TransportOptions, TransportOptions>? ConfigureTransport { get; set; }

    internal void Validate()
    {
        if (NodeId == RaftNode.None) throw new ArgumentException("NodeId must be non-zero", nameof(NodeId));
        if (!Members.ContainsKey(NodeId)) throw new ArgumentException($"Members must list this member ({NodeId}) with its peer URL", nameof(Members));
        if (Storage is null) throw new ArgumentException("Storage must be set", nameof(Storage));
        if (StateMachine is null) throw new ArgumentException("StateMachine must be set", nameof(StateMachine));
        if (Codec is null) throw new ArgumentException("Codec must be set", nameof(Codec));
    }

    internal RaftHostOptions BuildHostOptions()
    {
        var options = new RaftHostOptions
        {
            Raft = new RaftConfig { Id = NodeId, Voters = [.. Members.Keys.Order()], ElectionTimeoutTicks = ElectionTimeoutTicks, PreVote = true, CheckQuorum = true },
            TickInterval = TickInterval,
        };
        return ConfigureHost?.Invoke(options) ?? options;
    }

    internal TransportOptions BuildTransportOptions()
    {
        var options = new TransportOptions
        {
            LocalId = NodeId,
            ClusterId = ClusterId,
            Peers = Members.Where(m => m.Key != NodeId).ToDictionary(m => m.Key, m => m.Value),
        };
        return ConfigureTransport?.Invoke(options) ?? options;
    }
}
