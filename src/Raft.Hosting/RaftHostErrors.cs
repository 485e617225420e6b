namespace RaftKv.Raft.Hosting;

/// <summary>Base of the expected failures a caller of <see cref="RaftHost"/> may see.</summary>
public abstract class RaftHostException(string message) : Exception(message);

/// <summary>This node is not the leader. <see cref="LeaderId"/> names the leader it knows of (0 if none).</summary>
public sealed class NotLeaderException(ulong leaderId, string? leaderName)
    : RaftHostException(leaderId == RaftNode.None ? "no leader is known" : $"not the leader; the leader is {leaderName ?? leaderId.ToString(System.Globalization.CultureInfo.InvariantCulture)}")
{
    /// <summary>The leader this node knows of, or 0.</summary>
    public ulong LeaderId { get; } = leaderId;
}

/// <summary>The proposal was not committed: leadership changed before it committed, or the leader shed load.</summary>
public sealed class ProposalDroppedException(string reason) : RaftHostException($"proposal dropped: {reason}");

/// <summary>The node is shutting down (or stopped because of a fatal error).</summary>
public sealed class NodeStoppedException(string reason) : RaftHostException($"node stopped: {reason}");

/// <summary>A linearizable read got no read index in time: its request or answer was lost, or no leader could confirm it.</summary>
public sealed class ReadTimedOutException(TimeSpan timeout)
    : RaftHostException($"read timed out: no leader confirmed a read index within {timeout.TotalMilliseconds:F0} ms");

/// <summary>Why <see cref="RaftHost.ProposeConfChangeAsync"/> refused a configuration change.</summary>
public enum ConfChangeRefusalKind
{
    /// <summary>Another configuration change is not applied yet (at most one is in flight); retry once it is.</summary>
    Pending = 0,
    /// <summary>A leadership transfer is in progress (thesis section 3.10); retry on the new leader.</summary>
    TransferInProgress = 1,
    /// <summary>The change does not apply to the current configuration; <see cref="ConfChangeRefusedException.Reason"/> says why.</summary>
    Invalid = 2,
    /// <summary>Too many uncommitted bytes are pending on the leader, or too many proposals wait here; back off.</summary>
    TooManyUncommitted = 3,
}

/// <summary>The leader did not append a configuration change: <see cref="Kind"/> says which rule refused it, <see cref="Reason"/> in words.</summary>
public sealed class ConfChangeRefusedException(ConfChangeRefusalKind kind, string reason)
    : RaftHostException($"configuration change refused: {reason}")
{
    /// <summary>Which rule refused the change.</summary>
    public ConfChangeRefusalKind Kind { get; } = kind;

    /// <summary>Why, in words a server can hand to its client (for <see cref="ConfChangeRefusalKind.Invalid"/>: the core's reason).</summary>
    public string Reason { get; } = reason;
}
