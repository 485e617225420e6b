namespace RaftKv.Raft;

/// <summary>
/// A snapshot written by <see cref="IRaftLogStorage.StageSnapshot"/> but not yet the node's snapshot: the log is
/// not compacted and a restart does not use it until <see cref="IRaftLogStorage.PublishSnapshot"/> has returned.
/// Implementations may derive from it to remember where they put the data.
/// </summary>
public class StagedSnapshot
{
    /// <summary>Creates a staged snapshot of <paramref name="snapshot"/>.</summary>
    public StagedSnapshot(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Snapshot = snapshot;
    }

    /// <summary>The snapshot as it will be published.</summary>
    public Snapshot Snapshot { get; }
}
