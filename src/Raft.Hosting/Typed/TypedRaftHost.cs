using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RaftKv.Raft.Hosting;

/// <summary>
/// Runs one Raft node for a typed state machine: proposals are <typeparamref name="TCommand"/>s, encoded by an
/// <see cref="ICommandCodec{T}"/>, and complete with the <typeparamref name="TResult"/> that
/// <see cref="IStateMachine{TCommand, TResult}.Apply"/> returned on this node. A thin layer over <see cref="RaftHost"/>
/// (same loop, ordering, limits and failures).
/// </summary>
/// <remarks>
/// Thread-safe: <see cref="ProposeAsync"/>, <see cref="ReadAsync{T}"/> and <see cref="ReadBarrierAsync"/> may be called
/// from any thread. Events are raised on the loop thread and must return quickly.
/// </remarks>
/// <typeparam name="TCommand">What a proposal carries.</typeparam>
/// <typeparam name="TResult">What applying a command returns to its proposer.</typeparam>
public sealed partial class TypedRaftHost<TCommand, TResult> : IAsyncDisposable
{
    private readonly ICommandCodec<TCommand> _commandCodec;

    /// <summary>Creates a host for <paramref name="stateMachine"/>; <see cref="Start"/> begins running it.</summary>
    public TypedRaftHost(RaftHostOptions options, IRaftLogStorage store, IStateMachine<TCommand, TResult> stateMachine,
        ICommandCodec<TCommand> commandCodec, IRaftTransport transport, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(stateMachine);
        ArgumentNullException.ThrowIfNull(commandCodec);
        _commandCodec = commandCodec;
        StateMachine = stateMachine;
        var log = logger ?? NullLogger.Instance;
        Host = new RaftHost(options, store, new TypedStateMachineAdapter<TCommand, TResult>(stateMachine, commandCodec, log), transport, log);
    }

    /// <summary>
    /// The untyped host underneath, for what this type does not repeat: <see cref="RaftHost.Stats"/>,
    /// <see cref="RaftHost.EventRaised"/>, <see cref="RaftHost.Applied"/>. Bytes proposed through it
    /// bypass the codec; their result is an internal object, not a <typeparamref name="TResult"/>.
    /// </summary>
    public RaftHost Host { get; }

    /// <summary>The state machine this host applies commands to.</summary>
    public IStateMachine<TCommand, TResult> StateMachine { get; }

    /// <summary>This node's id.</summary>
    public ulong Id => Host.Id;

    /// <summary>The latest state of the node (role, leader, term, indexes), or null before start.</summary>
    public RaftStatus? Status => Host.Status;

    /// <summary>
    /// Raised on the loop thread when the leader or this node's role changes, with the new leader (0 when none is
    /// known) and role. See <see cref="LeaderId"/> and <see cref="Role"/> to read the same without an event.
    /// </summary>
    public event Action<SoftState>? LeaderChanged
    {
        add => Host.LeaderChanged += value;
        remove => Host.LeaderChanged -= value;
    }

    /// <summary>Completes when the node stops (after <see cref="DisposeAsync"/> or a fatal error).</summary>
    public Task Completion => Host.Completion;

    /// <summary>Restores the state machine from the latest snapshot and starts the node.</summary>
    public void Start() => Host.Start();

    /// <summary>
    /// Proposes <paramref name="command"/> and completes with the result <see cref="IStateMachine{TCommand, TResult}.Apply"/>
    /// returned once it was committed and applied on this node. Fails as <see cref="RaftHost.ProposeAsync"/> does
    /// (<see cref="NotLeaderException"/> on a follower, <see cref="ProposalDroppedException"/>,
    /// <see cref="NodeStoppedException"/>), and with <see cref="UndecodableCommandException"/> when the command
    /// committed but the codec could not decode it. Cancel to stop waiting (the command may still commit).
    /// </summary>
    public async ValueTask<TResult> ProposeAsync(TCommand command, CancellationToken cancellationToken = default)
    {
        var result = await Host.ProposeAsync(Encode(command), cancellationToken).ConfigureAwait(false);
        if (result is TypedStateMachineAdapter<TCommand, TResult>.Undecodable undecodable)
            throw new UndecodableCommandException(undecodable.Index, undecodable.Reason);
        // The adapter is the host's only state machine: a result is the boxed TResult Apply returned (null for a null TResult).
        return (TResult)result!;
    }

    /// <summary>
    /// A linearizable read (thesis section 6.4): waits until this node, leader or follower, has applied every write
    /// acknowledged before the call, then runs <paramref name="read"/> and returns its value.
    /// </summary>
    /// <remarks>
    /// <paramref name="read"/> runs on the caller's thread, while the loop may be applying later entries: it must
    /// read only state the state machine makes safe to read concurrently (immutable or atomic values), or take the
    /// state machine's own lock. It sees every write acknowledged before the call, and possibly later ones. Fails
    /// with <see cref="ReadTimedOutException"/>, <see cref="NotLeaderException"/> (no leader known) or
    /// <see cref="NodeStoppedException"/>, as <see cref="RaftHost.ReadBarrierAsync"/> does.
    /// </remarks>
    public async ValueTask<T> ReadAsync<T>(Func<T> read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        await Host.ReadBarrierAsync(cancellationToken).ConfigureAwait(false);
        return read();
    }

    /// <summary>The read barrier alone (thesis section 6.4): completes once this node reflects every write acknowledged before the call.</summary>
    public ValueTask ReadBarrierAsync(CancellationToken cancellationToken = default) => Host.ReadBarrierAsync(cancellationToken);

    /// <summary>Stops the node; pending proposals and reads fail with <see cref="NodeStoppedException"/>.</summary>
    public ValueTask DisposeAsync() => Host.DisposeAsync();

    private byte[] Encode(TCommand command)
    {
        // A fresh buffer per command: the entry owns its bytes once it is in the log, so they are never reused.
        var writer = new ArrayBufferWriter<byte>();
        _commandCodec.Encode(command, writer);
        if (writer.WrittenCount == 0)
            throw new ArgumentException("the command codec wrote no bytes; an empty entry is a new leader's no-op", nameof(command));
        return writer.WrittenSpan.ToArray();
    }
}
