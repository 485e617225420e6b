namespace RaftKv.Raft.Hosting;

/// <summary>
/// The replicated application, with typed commands and results, run by a <see cref="TypedRaftHost{TCommand, TResult}"/>.
/// Every node applies the same committed commands in the same order, so <see cref="Apply"/> must be deterministic.
/// </summary>
/// <remarks>
/// <para>Threads: <see cref="Apply"/>, <see cref="ApplyNoOp"/>, <see cref="CaptureSnapshot"/> and <see cref="Restore"/>
/// are called on the host's loop thread, one at a time, never concurrently with each other. Only the
/// <see cref="IStateMachineSnapshot"/> a capture returns is written on another thread, concurrently with
/// <see cref="Apply"/>. Reads made through <see cref="TypedRaftHost{TCommand, TResult}.ReadAsync{T}"/> run on the
/// caller's thread, concurrently with all of these: state they read must be safe to read then (immutable, atomic,
/// or guarded by the state machine's own lock).</para>
/// <para>The loop sends no heartbeats while these methods run: keep each one short.</para>
/// </remarks>
/// <typeparam name="TCommand">What a proposal carries (encoded by an <see cref="ICommandCodec{T}"/>).</typeparam>
/// <typeparam name="TResult">What applying a command returns to its proposer (in process, never serialized).</typeparam>
public interface IStateMachine<TCommand, TResult>
{
    /// <summary>
    /// Applies one committed command at log <paramref name="index"/> and returns the result for its proposer (other
    /// nodes discard it). The result and the new state must depend only on the state and the command: no clocks,
    /// randomness, hash-table order, configuration or other input local to this node. Must not throw: an exception
    /// stops the node, which would otherwise diverge from its peers.
    /// </summary>
    TResult Apply(TCommand command, ulong index);

    /// <summary>
    /// Called for a committed entry that carries no command: a new leader's no-op (paper section 8), or bytes the
    /// codec could not decode (the same on every node; see <see cref="ICommandCodec{T}"/>). Changes no state; a
    /// state machine that records its applied index notes it here. Default: nothing.
    /// </summary>
    void ApplyNoOp(ulong index)
    {
    }

    /// <summary>
    /// Captures the whole state as of the last applied entry. Quick: copy references to immutable data, no
    /// serialization, no I/O; the host writes the capture on another thread while the loop goes on applying.
    /// </summary>
    IStateMachineSnapshot CaptureSnapshot();

    /// <summary>
    /// Replaces the whole state with what <see cref="IStateMachineSnapshot.WriteTo"/> wrote (possibly on another
    /// node). <paramref name="source"/> is read-only, positioned at the start, and valid only during the call.
    /// </summary>
    void Restore(Stream source);
}
