namespace RaftKv.Kv.Engine;

/// <summary>An engine's frozen image of the whole state; see <see cref="KvStoreSnapshot"/> for the public contract.</summary>
internal abstract class SnapshotImage
{
    public abstract ulong AppliedIndex { get; }

    public abstract long Revision { get; }

    public abstract long CompactRevision { get; }

    /// <summary>Keys with a retained version; -1 when the engine does not know without a scan.</summary>
    public abstract int KeyCount { get; }

    public abstract long VersionCount { get; }

    /// <summary>Never below what <see cref="WriteTo"/> writes; 0 when unknown.</summary>
    public abstract long EstimatedBytes { get; }

    public abstract void WriteTo(Stream destination);
}
