using RaftKv.Kv.Mvcc;
using RaftKv.Kv.Snapshots;

namespace RaftKv.Kv.Engine;

/// <summary>
/// The whole state in the managed heap (<see cref="MvccState"/>), readers and the applier serialized by a
/// reader-writer lock. Fast and simple; bounded by memory. The model the disk engine is tested against.
/// </summary>
internal sealed class MemoryEngine : IKvEngine
{
    private readonly ReaderWriterLockSlim gate = new(LockRecursionPolicy.NoRecursion);

    // Replaced by ReplaceWith, under the write lock; read only under the lock.
    private MvccState state;

    public MemoryEngine(MvccState? state = null) => this.state = state ?? new MvccState();

    public StoreScalars Scalars => Read(StoreScalars.Of);

    public T Read<T>(Func<IMvccView, T> read)
    {
        gate.EnterReadLock();
        try
        {
            return read(state);
        }
        finally
        {
            gate.ExitReadLock();
        }
    }

    public T Apply<T>(Func<IMvccState, T> apply)
    {
        gate.EnterWriteLock();
        try
        {
            return apply(state);
        }
        finally
        {
            gate.ExitWriteLock();
        }
    }

    /// <remarks>Applying waits only for the copy: O(versions) struct and reference copies; keys and values are shared.</remarks>
    public SnapshotImage CaptureSnapshot() => new Image(Read(view => FrozenState.Capture((MvccState)view)));

    public void ReplaceWith(Stream source)
    {
        var restored = SnapshotCodec.Read(source); // read and verified before anything is held up
        Apply(_ =>
        {
            state = restored;
            return 0;
        });
    }

    public void CheckInvariants() => Read(view =>
    {
        ((MvccState)view).CheckInvariants();
        return 0;
    });

    public void Dispose() => gate.Dispose();

    private sealed class Image(FrozenState frozen) : SnapshotImage
    {
        private long estimatedBytes = -1;

        public override ulong AppliedIndex => frozen.AppliedIndex;

        public override long Revision => frozen.CurrentRevision;

        public override long CompactRevision => frozen.CompactRevision;

        public override int KeyCount => frozen.KeyCount;

        public override long VersionCount => frozen.VersionCount;

        public override long EstimatedBytes
        {
            get
            {
                var bytes = Volatile.Read(ref estimatedBytes);
                if (bytes < 0)
                {
                    bytes = SnapshotCodec.StreamBytes(frozen); // idempotent: a race computes the same value twice
                    Volatile.Write(ref estimatedBytes, bytes);
                }

                return bytes;
            }
        }

        public override void WriteTo(Stream destination) => SnapshotCodec.Write(frozen, destination);
    }
}
