namespace RaftKv.Raft.Hosting;

/// <summary>
/// The replicated application. Every node applies the same committed entries in the same order, so
/// <see cref="Apply"/> must be deterministic: no clocks, no randomness, no dependence on hash-table order.
/// </summary>
/// <remarks>
/// <para>All methods are called on the host's loop thread, one at a time; only the <see cref="IStateMachineSnapshot"/>
/// a capture returns is written on another thread, and an implementation of <see cref="ISnapshotPayloads"/> is called
/// on transport threads.</para>
/// <para>The host calls <see cref="Apply"/> for every committed entry after the latest snapshot, in index order, with
/// no gaps. After <see cref="Restore"/> of the snapshot at index N (at startup, or one from the leader) it goes on with
/// entry N + 1, even when the restored state already includes later entries (see <see cref="Restore"/>).</para>
/// </remarks>
public interface IStateMachine
{
    /// <summary>
    /// Applies one committed entry and returns the result for the proposer (ignored on other nodes). Entries
    /// with empty data are the leader's no-ops; apply them as nothing (but note their index). An entry at or below
    /// the state's own applied index (the state is ahead of the log after a <see cref="Restore"/>) must be a no-op:
    /// it is already in the state. Its result still reaches a proposer on this node waiting for that index, if any.
    /// </summary>
    object? Apply(in Entry entry);

    /// <summary>
    /// Captures the whole state as of the last applied entry. Runs on the loop thread, which sends no heartbeats
    /// meanwhile, so it must be quick: copy references to immutable data, no serialization, no I/O. The host writes
    /// the capture on another thread while the loop goes on applying entries. With <see cref="ISnapshotPayloads"/>,
    /// the capture writes only a small descriptor of the local state; the state itself travels as a payload.
    /// </summary>
    IStateMachineSnapshot CaptureSnapshot();

    /// <summary>
    /// Replaces the whole state with a snapshot taken by <see cref="CaptureSnapshot"/> (possibly on another node);
    /// with <see cref="ISnapshotPayloads"/>, <paramref name="snapshot"/> is a descriptor: one
    /// <see cref="CaptureSnapshot"/> wrote (at startup) or one <see cref="ISnapshotPayloads.AcceptPayload"/> returned.
    /// </summary>
    /// <remarks>
    /// After restoring the snapshot at index N the state may hold entries up to some index M at or after N: a
    /// payload is copied from the leader's live state after N, and a durable state survives a restart with
    /// everything it had applied. The host does not know M: it calls <see cref="Apply"/> from N + 1 on, and the
    /// state machine must treat each entry up to its own applied index M as a no-op.
    /// </remarks>
    void Restore(ReadOnlyMemory<byte> snapshot);
}
