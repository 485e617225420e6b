namespace RaftKv.Raft.Hosting;

/// <summary>
/// The replicated application. Every node applies the same committed entries in the same order, so
/// <see cref="Apply"/> must be deterministic: no clocks, no randomness, no dependence on hash-table order.
/// </summary>
/// <remarks>All methods are called on the host's loop thread, one at a time.</remarks>
public interface IStateMachine
{
    /// <summary>
    /// Applies one committed entry and returns the result for the proposer (ignored on other nodes). Entries
    /// with empty data are the leader's no-ops; apply them as nothing (but note their index).
    /// </summary>
    object? Apply(in Entry entry);

    /// <summary>Serializes the whole state as of the last applied entry.</summary>
    ReadOnlyMemory<byte> TakeSnapshot();

    /// <summary>Replaces the whole state with a snapshot taken by <see cref="TakeSnapshot"/> (possibly on another node).</summary>
    void Restore(ReadOnlyMemory<byte> snapshot);
}
