namespace RaftKv.Raft;

/// <summary>Describes what a snapshot replaces: every entry up to and including <see cref="Index"/>.</summary>
/// <param name="Index">Last log index the snapshot includes.</param>
/// <param name="Term">Term of the entry at <see cref="Index"/>.</param>
/// <param name="ConfState">Membership as of <see cref="Index"/>.</param>
public sealed record SnapshotMetadata(ulong Index, ulong Term, ConfState ConfState);

/// <summary>A state-machine snapshot with its metadata (paper section 7).</summary>
/// <param name="Metadata">What the snapshot covers.</param>
/// <param name="Data">The state machine's serialized state; opaque to the core.</param>
public sealed record Snapshot(SnapshotMetadata Metadata, ReadOnlyMemory<byte> Data)
{
    /// <summary>Last log index included.</summary>
    public ulong Index => Metadata.Index;

    /// <summary>Term of the last included entry.</summary>
    public ulong Term => Metadata.Term;
}
