namespace RaftKv.Raft.Hosting;

/// <summary>Settings of a <see cref="RaftHost"/>.</summary>
public sealed record RaftHostOptions
{
    /// <summary>The core's settings (id, voters, timeouts in ticks, limits).</summary>
    public required RaftConfig Raft { get; init; }

    /// <summary>Wall-clock length of one tick; the heartbeat interval when <see cref="RaftConfig.HeartbeatTimeoutTicks"/> is 1.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Inputs (messages, proposals, reads) queued for the loop; messages beyond it are dropped, proposals wait.</summary>
    public int InboxCapacity { get; init; } = 16 * 1024;

    /// <summary>Inputs handled per loop iteration before the Ready is processed (bounds latency under load).</summary>
    public int MaxInputsPerIteration { get; init; } = 4096;

    /// <summary>Proposals not yet resolved (in the log, waiting to commit) before new ones are refused.</summary>
    public int MaxPendingProposals { get; init; } = 64 * 1024;

    /// <summary>Linearizable reads waiting for their read index or for it to be applied; more are refused.</summary>
    public int MaxPendingReads { get; init; } = 16 * 1024;

    /// <summary>
    /// How long a read may wait for its read index before it fails with <see cref="ReadTimedOutException"/> (the
    /// request or its answer was lost, or no leader could confirm it).
    /// </summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an unanswered read waits before its request is sent again (also sent again at every leader or term change).</summary>
    public TimeSpan ReadRetryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Take a state-machine snapshot and compact the log after this many applied entries; 0 disables.</summary>
    public ulong SnapshotEveryEntries { get; init; } = 10_000;

    /// <summary>Ticks handled at once after the loop fell behind (e.g. the process was paused); more are skipped.</summary>
    public int MaxCatchUpTicks { get; init; } = 2;

    /// <summary>
    /// The loop thread's nice value on Linux, -20 to 19 (lower runs sooner); 0, the default, leaves it as it is. The
    /// loop's longest stalls are not its own work but waits for a core while other threads run (the state machine's
    /// engine, the clients' requests, other processes): a negative value lets the scheduler run the loop first when it
    /// wakes. Below 0 needs CAP_SYS_NICE; without it the loop keeps its priority and the host logs why, once.
    /// </summary>
    public int LoopThreadNice { get; init; }

    /// <summary>Source of time for the tick timer.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Raft.Validate();
        if (TickInterval <= TimeSpan.Zero) throw new ArgumentException("TickInterval must be positive", nameof(TickInterval));
        if (InboxCapacity <= 0) throw new ArgumentException("InboxCapacity must be positive", nameof(InboxCapacity));
        if (MaxInputsPerIteration <= 0) throw new ArgumentException("MaxInputsPerIteration must be positive", nameof(MaxInputsPerIteration));
        if (MaxPendingProposals <= 0) throw new ArgumentException("MaxPendingProposals must be positive", nameof(MaxPendingProposals));
        if (MaxPendingReads <= 0) throw new ArgumentException("MaxPendingReads must be positive", nameof(MaxPendingReads));
        if (ReadTimeout <= TimeSpan.Zero) throw new ArgumentException("ReadTimeout must be positive", nameof(ReadTimeout));
        if (ReadRetryInterval <= TimeSpan.Zero || ReadRetryInterval > ReadTimeout)
            throw new ArgumentException($"ReadRetryInterval ({ReadRetryInterval}) must be positive and at most ReadTimeout ({ReadTimeout})", nameof(ReadRetryInterval));
        if (MaxCatchUpTicks <= 0) throw new ArgumentException("MaxCatchUpTicks must be positive", nameof(MaxCatchUpTicks));
        if (LoopThreadNice is < -20 or > 19) throw new ArgumentException($"LoopThreadNice must be in [-20, 19], was {LoopThreadNice}", nameof(LoopThreadNice));
    }
}
