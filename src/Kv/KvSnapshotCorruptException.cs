namespace RaftKv.Kv;

/// <summary>A snapshot that cannot be restored: truncated, altered, or not a snapshot of this format.</summary>
public sealed class KvSnapshotCorruptException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KvSnapshotCorruptException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the error that revealed the damage.</summary>
    public KvSnapshotCorruptException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
