using RaftKv.Raft;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Transport;

namespace RaftKv.Server;

/// <summary>What the request handlers of one member share: its settings, Raft host, state machine and transport.</summary>
public sealed class NodeContext(ServerSettings settings, RaftHost host, IStateMachine stateMachine, GrpcTransport transport)
{
    public ServerSettings Settings { get; } = settings;
    public RaftHost Host { get; } = host;
    public IStateMachine StateMachine { get; } = stateMachine;
    public GrpcTransport Transport { get; } = transport;

    /// <summary>The member's latest Raft state.</summary>
    public RaftStatus? Status => Host.Status;

    /// <summary>Null when the member is part of a cluster with a leader; otherwise why not.</summary>
    public string? Unhealthy()
    {
        var status = Host.Status;
        if (status is null) return "starting";
        if (Host.Completion.IsCompleted) return "the raft loop has stopped";
        if (status.Leader == RaftNode.None) return "no leader";
        return null;
    }
}
