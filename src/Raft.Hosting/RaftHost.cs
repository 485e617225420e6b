using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RaftKv.Raft.Hosting;

/// <summary>
/// Runs one <see cref="RaftNode"/>: a single loop that takes ticks, peer messages, proposals and reads, then
/// handles each <see cref="Ready"/> in the safe order (persist with one fsync, send, apply, advance).
/// </summary>
/// <remarks>
/// Thread-safe: <see cref="ProposeAsync"/>, <see cref="ProposeConfChangeAsync"/>, <see cref="ReadBarrierAsync"/> and
/// the <see cref="IRaftInbox"/> methods may be called from any thread; they only queue work for the loop. Events are
/// raised on the loop thread and must return quickly.
/// </remarks>
public sealed partial class RaftHost : IRaftInbox, IAsyncDisposable
{
    private readonly RaftHostOptions _options;
    private readonly IRaftLogStorage _store;
    private readonly IStateMachine _stateMachine;
    private readonly IRaftTransport _transport;
    private readonly ILogger _logger;
    private readonly Channel<HostInput> _inbox;
    private readonly CancellationTokenSource _stop = new();
    private RaftNode? _node;
    private Task? _loop;
    // Wakes the loop thread; set by every producer. The loop keeps time itself (no timer on the thread pool), so a
    // pool starved by client requests cannot delay ticks, heartbeats or the handling of peer messages.
    private readonly AutoResetEvent _wake = new(false);
    private int _disposed;
    private volatile RaftStatus? _status;
    private volatile string? _stoppedReason;
    private volatile ConfState _configuration = ConfState.Empty;

    /// <summary>Creates a host; <see cref="Start"/> begins running it.</summary>
    public RaftHost(RaftHostOptions options, IRaftLogStorage store, IStateMachine stateMachine, IRaftTransport transport, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(stateMachine);
        ArgumentNullException.ThrowIfNull(transport);
        options.Validate();
        _options = options;
        _store = store;
        _stateMachine = stateMachine;
        _transport = transport;
        _logger = logger ?? NullLogger.Instance;
        _inbox = Channel.CreateBounded<HostInput>(new BoundedChannelOptions(options.InboxCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>This node's id.</summary>
    public ulong Id => _options.Raft.Id;

    /// <summary>Running totals of the loop's work (writes, syncs, entries sent and applied, snapshots).</summary>
    public RaftHostStats Stats { get; } = new();

    /// <summary>The latest state of the node (updated by the loop after every iteration), or null before start.</summary>
    public RaftStatus? Status => _status;

    /// <summary>Raised on the loop thread for every core event (role changes, votes, ...).</summary>
    public event Action<RaftEvent>? EventRaised;

    /// <summary>Raised on the loop thread when the leader or this node's role changes.</summary>
    public event Action<SoftState>? LeaderChanged;

    /// <summary>Raised on the loop thread after each committed entry was applied (index, result).</summary>
    public event Action<Entry>? Applied;

    /// <summary>
    /// Raised on the loop thread after each committed <see cref="EntryType.ConfChange"/> entry was applied (by the
    /// node and the state machine), with the configuration it resulted in; before <see cref="Applied"/> for that entry.
    /// A snapshot installed from the leader replaces the configuration without this event: see <see cref="Configuration"/>.
    /// </summary>
    public event Action<Entry, ConfState>? ConfigurationApplied;

    /// <summary>
    /// The configuration as applied on this node (<see cref="RaftNode.Membership"/>): set at <see cref="Start"/>, and
    /// by the loop after each applied configuration change and each installed snapshot. <see cref="ConfState.Empty"/>
    /// before start, and on a member whose configuration is in its log (<see cref="RaftBootstrap"/>, a member added
    /// with an empty log, or one restarted without a snapshot) until the loop has applied the log's configuration changes.
    /// </summary>
    public ConfState Configuration => _configuration;

    /// <summary>Completes when the loop ends (after <see cref="DisposeAsync"/> or a fatal error).</summary>
    public Task Completion => _loop ?? Task.CompletedTask;

    /// <summary>Restores the state machine from the latest snapshot and starts the loop, the tick timer and the transport.</summary>
    public void Start()
    {
        if (_loop is not null) throw new InvalidOperationException("already started");
        var snapshot = _store.Snapshot;
        if (snapshot is not null) _stateMachine.Restore(snapshot.Data);
        var config = _options.Raft with { AppliedIndex = snapshot?.Index ?? 0 };
        _node = new RaftNode(config, _store, new Random());
        _lastSnapshotIndex = snapshot?.Index ?? 0;
        _configuration = _node.Membership;
        _status = _node.GetStatus();
        _transport.Start(this);
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop = completion.Task;
        var thread = new Thread(() => RunLoop(completion)) { IsBackground = true, Name = $"raft-{_options.Raft.NameOf(Id)}" };
        thread.Start();
    }

    /// <summary>
    /// Proposes a command and completes with the state machine's result once it is committed and applied here.
    /// Fails with <see cref="NotLeaderException"/> on a follower, <see cref="ProposalDroppedException"/> when it
    /// was not committed, <see cref="NodeStoppedException"/> on shutdown; cancel to stop waiting (the command may
    /// still commit).
    /// </summary>
    public async ValueTask<object?> ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        var input = new ProposeInput(command);
        await _inbox.Writer.WriteAsync(input, cancellationToken).ConfigureAwait(false);
        _wake.Set();
        return await input.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Proposes a configuration change (thesis chapter 4; <see cref="RaftNode.ProposeConfChange"/>) and completes with
    /// the state machine's result for its entry once it is committed and applied here, after the node applied it
    /// (<see cref="Configuration"/> and <see cref="ConfigurationApplied"/> show the new configuration by then). Fails
    /// with <see cref="NotLeaderException"/> on a follower, <see cref="ConfChangeRefusedException"/> when the leader
    /// refuses it (another change pending, a transfer in progress, not applicable to the current configuration, too
    /// much uncommitted), <see cref="ProposalDroppedException"/> when its entry was not committed,
    /// <see cref="NodeStoppedException"/> on shutdown; cancel to stop waiting (the change may still commit).
    /// </summary>
    /// <remarks>Add a voter as a learner first and promote it once its match index (<see cref="Status"/>'s
    /// <see cref="RaftStatus.Progress"/> on the leader) has caught up (thesis section 4.2.1).</remarks>
    public async ValueTask<object?> ProposeConfChangeAsync(ConfChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        ThrowIfStopped();
        var input = new ConfChangeInput(change);
        await _inbox.Writer.WriteAsync(input, cancellationToken).ConfigureAwait(false);
        _wake.Set();
        return await input.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A linearizable read barrier (thesis section 6.4): completes once this node's state machine reflects every
    /// write acknowledged before the call. Read local state after it completes.
    /// </summary>
    public async ValueTask ReadBarrierAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        var input = new ReadInput();
        await _inbox.Writer.WriteAsync(input, cancellationToken).ConfigureAwait(false);
        _wake.Set();
        await input.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks the leader to hand leadership to <paramref name="target"/> (thesis section 3.10).</summary>
    public async ValueTask<RequestStatus> TransferLeadershipAsync(ulong target, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        var input = new TransferInput(target);
        await _inbox.Writer.WriteAsync(input, cancellationToken).ConfigureAwait(false);
        _wake.Set();
        return await input.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fast-forwards the election timer of a leaderless follower to <paramref name="elapsedTicks"/> (see
    /// <see cref="RaftNode.AdvanceElectionTimer"/>): call it once the node can hear answers and enough peers answer to
    /// elect, so a cluster restarted as a whole elects within a heartbeat to a timeout of that, not a whole timeout.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elapsedTicks"/> is not in [0, ElectionTimeoutTicks).</exception>
    /// <exception cref="InvalidOperationException">Pre-vote is off, or the host was not started.</exception>
    public async ValueTask AdvanceElectionTimerAsync(int elapsedTicks, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elapsedTicks);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(elapsedTicks, _options.Raft.ElectionTimeoutTicks);
        if (!_options.Raft.PreVote) throw new InvalidOperationException("advancing the election timer needs PreVote");
        ThrowIfStopped();
        await _inbox.Writer.WriteAsync(new AdvanceElectionInput(elapsedTicks), cancellationToken).ConfigureAwait(false);
        _wake.Set();
    }

    /// <inheritdoc />
    public bool TryDeliver(Message message)
    {
        if (!_inbox.Writer.TryWrite(new MessageInput(message))) return false;
        _wake.Set();
        return true;
    }

    /// <inheritdoc />
    public void ReportUnreachable(ulong peerId)
    {
        if (_inbox.Writer.TryWrite(new ReportInput(peerId, Unreachable: true, SnapshotDelivered: false))) _wake.Set();
    }

    /// <inheritdoc />
    public void ReportSnapshot(ulong peerId, bool delivered) =>
        // Must not be lost, or the follower's progress stays paused in snapshot state: wait for room.
        _ = WriteAndWakeAsync(new ReportInput(peerId, Unreachable: false, SnapshotDelivered: delivered));

    private async Task WriteAndWakeAsync(HostInput input)
    {
        await _inbox.Writer.WriteAsync(input).ConfigureAwait(false);
        _wake.Set();
    }

    private void ThrowIfStopped()
    {
        if (_stoppedReason is { } reason) throw new NodeStoppedException(reason);
        if (_loop is null) throw new InvalidOperationException("the host was not started");
    }

    /// <summary>Stops the loop and the transport; pending proposals and reads fail with <see cref="NodeStoppedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stoppedReason ??= "shutting down";
        await _stop.CancelAsync().ConfigureAwait(false);
        _inbox.Writer.TryComplete();
        _wake.Set();
        try
        {
            if (_loop is not null) await _loop.ConfigureAwait(false);
        }
        catch (Exception) when (_loop!.IsFaulted)
        {
            // The loop stopped on a fatal error (a storage failure, or a core bug of any exception type): it logged it,
            // and the caller sees it in Completion. Disposing still releases the transport and the snapshot job.
        }
        await AbandonSnapshotAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private abstract record HostInput;

    private sealed record MessageInput(Message Message) : HostInput;

    private sealed record ReportInput(ulong PeerId, bool Unreachable, bool SnapshotDelivered) : HostInput;

    private sealed record ProposeInput(ReadOnlyMemory<byte> Command) : HostInput
    {
        public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record ConfChangeInput(ConfChange Change) : HostInput
    {
        public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record ReadInput : HostInput
    {
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record AdvanceElectionInput(int ElapsedTicks) : HostInput;

    private sealed record TransferInput(ulong Target) : HostInput
    {
        public TaskCompletionSource<RequestStatus> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
