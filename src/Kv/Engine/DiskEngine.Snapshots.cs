using RaftKv.Kv.Backend;
using RaftKv.Kv.Backend.Snapshots;

namespace RaftKv.Kv.Engine;

/// <summary>
/// Snapshots of the disk engine: the whole backend streamed from a view (<see cref="BackendStream"/>), and received
/// into a staging directory of the member's <see cref="StateDirectory"/>, then switched in by its pointer file, so a
/// crash leaves the old state or the new one.
/// </summary>
internal sealed partial class DiskEngine
{
    private readonly object stagingLock = new();

    /// <remarks>
    /// The image reads the backend when <see cref="SnapshotImage.WriteTo"/> runs (one view per write), not at the
    /// capture: holding a view from the capture on would pin the backend's files and block a switch. Its scalars are
    /// those at the capture.
    /// </remarks>
    public SnapshotImage CaptureSnapshot() => new Image(this, Scalars);

    public void ReplaceWith(Stream source) => Receive(source, onlyIfNewer: false, CancellationToken.None);

    /// <summary>
    /// Builds a backend from <paramref name="source"/> in a staging directory (verified whole, made durable) and
    /// switches to it when it is ahead of the state applied by then (or always, when <paramref name="onlyIfNewer"/> is
    /// false); readers and the applier wait only for the switch itself. Returns the received applied index and
    /// whether the store now shows it.
    /// </summary>
    /// <exception cref="KvSnapshotCorruptException">The stream is not a whole, intact backend stream; nothing changed.</exception>
    public (ulong AppliedIndex, bool Switched) Receive(Stream source, bool onlyIfNewer, CancellationToken cancellationToken)
    {
        var states = root ?? throw new InvalidOperationException("this disk store was opened on a bare backend directory, without a state root to stage into");
        lock (stagingLock)
        {
            var staging = states.NewStagingPath();
            ulong received;
            try
            {
                received = BackendStream.Restore(source, staging, backendOptions, cancellationToken);
            }
            catch (InvalidDataException e)
            {
                throw new KvSnapshotCorruptException($"the snapshot stream is damaged: {e.Message}", e);
            }

            swap.EnterWriteLock();
            try
            {
                if (onlyIfNewer && received <= backend.AppliedIndex)
                {
                    states.DeleteRetired(); // the staged copy: this store is already as far
                    return (received, false);
                }

                var live = states.Promote(staging);
                backend.Dispose();
                backend = KvBackend.Open(live, backendOptions);
                Republish();
            }
            finally
            {
                swap.ExitWriteLock();
            }

            states.DeleteRetired();
            return (received, true);
        }
    }

    /// <summary>Streams the whole backend as of now to <paramref name="destination"/> (<see cref="BackendStream"/>'s format).</summary>
    public void WriteSnapshot(Stream destination, CancellationToken cancellationToken)
    {
        swap.EnterReadLock();
        try
        {
            using var view = backend.OpenView();
            BackendStream.Write(view, destination, cancellationToken);
        }
        finally
        {
            swap.ExitReadLock();
        }
    }

    private sealed class Image(DiskEngine engine, StoreScalars scalars) : SnapshotImage
    {
        public override ulong AppliedIndex => scalars.AppliedIndex;

        public override long Revision => scalars.CurrentRevision;

        public override long CompactRevision => scalars.CompactRevision;

        public override int KeyCount => -1;

        public override long VersionCount => scalars.EntryCount;

        public override long EstimatedBytes => 0;

        public override void WriteTo(Stream destination) => engine.WriteSnapshot(destination, CancellationToken.None);
    }
}
