using RaftKv.Etcd.Api;
using RaftKv.Raft;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Transport;
using RaftKv.Server.Etcd;

namespace RaftKv.Server;

/// <summary>What the request handlers of one member share: its settings, Raft host, state machine and transport.</summary>
public sealed class NodeContext
{
    public NodeContext(ServerSettings settings, RaftHost host, EtcdStateMachine machine, GrpcTransport transport)
    {
        Settings = settings;
        PeerClients = new(settings.PeerTls);
        Host = host;
        Machine = machine;
        Transport = transport;
        Proposer = new KvProposer(this, machine);
        LeaseClock = new Leases.LeaseClock(() => Host.Status, machine.Store, TimeProvider.System, settings.LeaseCheckpointInterval);
        Leases = new Leases.LeaseGateway(this, LeaseClock);
        LeaseIds = new Leases.LeaseIdGenerator(settings.Self.Id, DateTimeOffset.UtcNow);
        Auth = new Auth.AuthGate(machine.Store, new Auth.SimpleTokens(settings.AuthTokenTtl, TimeProvider.System),
            settings.AuthToken.Jwt is { } jwtKey ? new Auth.JwtTokens(jwtKey, settings.AuthToken.JwtTtl, TimeProvider.System) : null);
        machine.Applied = result =>
        {
            LeaseClock.OnApplied(result);
            Auth.OnApplied(result);
        };
        AppliedIndex = new Forwarding.AppliedIndexWaiter(() => machine.Store.AppliedIndex);
        machine.AppliedIndexMoved = AppliedIndex.Notify;
        Concurrency = new Concurrency.ConcurrencyHub(this, Server.Concurrency.ConcurrencyLimits.Default);
        MembershipChanges = new Cluster.MembershipChanges(this);
        Forwarder = new Forwarding.WriteForwarder(this);
    }

    /// <summary>Waits for this member's store to apply an index (a forwarded write's, before its client is answered).</summary>
    public Forwarding.AppliedIndexWaiter AppliedIndex { get; }

    /// <summary>Hands writes and lease questions to the leader (<see cref="Forwarding.WriteForwardingService"/> on its peer port).</summary>
    public Forwarding.WriteForwarder Forwarder { get; }

    /// <summary>Identifies the cluster in headers and between members.</summary>
    public ulong ClusterId => Settings.Membership.ClusterId;

    /// <summary>The members as this member has applied them (the replicated member table).</summary>
    public Cluster.MemberTable Members => Machine.Members;

    /// <summary>MemberAdd, MemberRemove, MemberUpdate, MemberPromote and attribute publication.</summary>
    public Cluster.MembershipChanges MembershipChanges { get; }

    private readonly TaskCompletionSource _removed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once this member knows it was removed from the cluster; the server then stops.</summary>
    public Task Removed => _removed.Task;

    /// <summary>Records that this member was removed from the cluster (from the applied table, or from its peers).</summary>
    public void MarkRemoved() => _removed.TrySetResult();

    /// <summary>Clients of other members' peer-port membership calls.</summary>
    public Cluster.PeerClusterClients PeerClients { get; }

    /// <summary>A member's name: as published in the member table, else as in --initial-cluster, else its hex id.</summary>
    public string NameOf(ulong id) => Members.Find(id) is { IsStarted: true } m ? m.Name : Settings.Membership.NameOf(id);

    public ServerSettings Settings { get; }
    public RaftHost Host { get; }
    public EtcdStateMachine Machine { get; }
    public GrpcTransport Transport { get; }
    public KvProposer Proposer { get; }

    /// <summary>The leader's lease deadlines; empty on a follower.</summary>
    public Leases.LeaseClock LeaseClock { get; }

    /// <summary>Keep-alives and time-to-live questions, answered by the leader.</summary>
    public Leases.LeaseGateway Leases { get; }

    /// <summary>Ids for grants that leave the id to the server.</summary>
    public Leases.LeaseIdGenerator LeaseIds { get; }

    /// <summary>What the Lock and Election services share: their bounds, reads, writes and waits.</summary>
    public Concurrency.ConcurrencyHub Concurrency { get; }

    /// <summary>Who a call is (tokens, client certificates) and the replicated auth state.</summary>
    public Auth.AuthGate Auth { get; }

    /// <summary>The member's latest Raft state.</summary>
    public RaftStatus? Status => Host.Status;

    /// <summary>Null when the member is part of a cluster with a leader; otherwise why not.</summary>
    public string? Unhealthy()
    {
        var status = Host.Status;
        if (status is null) return "starting";
        if (Host.Completion.IsCompleted) return "the raft loop has stopped";
        if (status.Leader == RaftNode.None) return "no leader";
        if (Machine.Store.Alarms.Count > 0) return "alarm: " + string.Join(",", Machine.Store.Alarms.Select(a => a.Alarm));
        return null;
    }

    /// <summary>Fills an etcd response header: cluster, member, Raft term, and the store revision if not already set.</summary>
    public ResponseHeader Header(ResponseHeader? header = null)
    {
        header ??= new ResponseHeader();
        header.ClusterId = ClusterId;
        header.MemberId = Settings.Self.Id;
        header.RaftTerm = Host.Status?.Term ?? 0;
        if (header.Revision == 0) header.Revision = Machine.Store.Revision;
        return header;
    }
}
