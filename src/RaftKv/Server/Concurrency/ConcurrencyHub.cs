namespace RaftKv.Server.Concurrency;

/// <summary>
/// What the Lock and Election services of one member share: the bounds on their calls, the key-value calls they make
/// and the wait for predecessors. One per member (gRPC services are created per call).
/// </summary>
public sealed class ConcurrencyHub
{
    /// <summary>The parts over <paramref name="node"/>, bounded by <paramref name="limits"/>.</summary>
    public ConcurrencyHub(NodeContext node, ConcurrencyLimits limits)
    {
        ArgumentNullException.ThrowIfNull(node);
        Limits = limits ?? throw new ArgumentNullException(nameof(limits));
        Store = new OwnerStore(node);
        Waits = new PredecessorWait(node, Store, limits);
        Observers = new LeaderObserver(node, Store, limits);
        Waiters = new CallSlots(limits.WaitersMax, "lock and campaign calls");
        ObserveStreams = new CallSlots(limits.ObserversMax, "election observe streams");
    }

    /// <summary>The bounds.</summary>
    public ConcurrencyLimits Limits { get; }

    /// <summary>Linearizable reads and writes through the log.</summary>
    public OwnerStore Store { get; }

    /// <summary>The wait for the contenders before a caller.</summary>
    public PredecessorWait Waits { get; }

    /// <summary>Election observers.</summary>
    public LeaderObserver Observers { get; }

    /// <summary>Lock and Campaign calls in progress.</summary>
    public CallSlots Waiters { get; }

    /// <summary>Observe streams open.</summary>
    public CallSlots ObserveStreams { get; }
}
