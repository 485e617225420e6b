namespace RaftKv.Raft.Hosting;

/// <summary>
/// The replicated application. Every node applies the same committed entries in the same order, so
/// <see cref="Apply"/> must be deterministic: no clocks, no randomness, no dependence on hash-table order.
/// </summary>
/// <remarks>All methods are called on the host's loop thread, one at a time; only the
/// <see cref="IStateMachineSnapshot"/> a capture returns is written on another thread.</remarks>
public interface IStateMachine
{
    /// <summary>
    /// Applies one committed entry and returns the result for the proposer (ignored on other nodes). Entries
    /// with empty data are the leader's no-ops; apply them as nothing (but note their index).
    /// </summary>
    object? Apply(in Entry entry);

    /// <summary>
    /// Captures the whole state as of the last applied entry. Runs on the loop thread, which sends no heartbeats
    /// meanwhile, so it must be quick: copy references to immutable data, no serialization, no I/O. The host writes
    /// the capture on another thread while the loop goes on applying entries.
    /// </summary>
    IStateMachineSnapshot CaptureSnapshot();

    /// <summary>Replaces the whole state with a snapshot taken by <see cref="CaptureSnapshot"/> (possibly on another node).</summary>
    void Restore(ReadOnlyMemory<byte> snapshot);
}
