using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Engine;

/// <summary>
/// Where a <see cref="KvStore"/>'s state lives and how readers and the applier share it: in memory
/// (<see cref="MemoryEngine"/>) or on disk (the disk engine). The MVCC semantics (executors) are the same
/// code over both; an engine only answers <see cref="IMvccView"/> reads and takes <see cref="IMvccState"/> writes.
/// </summary>
/// <remarks>
/// Threads: one applier calls <see cref="Apply{T}"/> at a time; any number of threads call <see cref="Read{T}"/>,
/// each seeing whole applied entries only; <see cref="ReplaceWith"/> excludes both for the swap only.
/// </remarks>
internal interface IKvEngine : IDisposable
{
    /// <summary>The scalars of the last applied entry, without opening a view.</summary>
    StoreScalars Scalars { get; }

    /// <summary>Runs <paramref name="read"/> on a consistent view of the last applied entry.</summary>
    T Read<T>(Func<IMvccView, T> read);

    /// <summary>Applies one entry through <paramref name="apply"/>; its changes become visible to readers together, when it returns.</summary>
    T Apply<T>(Func<IMvccState, T> apply);

    /// <summary>A point-in-time image of the whole state, written later (and on any thread) by <see cref="SnapshotImage.WriteTo"/>.</summary>
    SnapshotImage CaptureSnapshot();

    /// <summary>Replaces the whole state with an image written by <see cref="SnapshotImage.WriteTo"/>; verified before anything changes.</summary>
    /// <exception cref="KvSnapshotCorruptException">When the stream is not a whole, intact image; nothing changed.</exception>
    void ReplaceWith(Stream source);

    /// <summary>Verifies the engine's structures against each other; for tests (O(n)).</summary>
    void CheckInvariants();
}

/// <summary>The scalar state of a store after an applied entry.</summary>
internal sealed record StoreScalars(ulong AppliedIndex, long CurrentRevision, long CompactRevision, long SizeBytes, long EntryCount, bool CompactionPending)
{
    public static StoreScalars Of(IMvccView view) =>
        new(view.AppliedIndex, view.CurrentRevision, view.CompactRevision, view.SizeBytes, view.EntryCount, view.CompactionPending);
}
