namespace RaftKv.Raft.Storage;

/// <summary>
/// Another process, or another <see cref="DurableStorage"/> instance in this process, holds the data directory's
/// lock. Two writers on one log would corrupt it, so the second open fails.
/// </summary>
public sealed class StorageLockedException : StorageException
{
    /// <summary>Creates the exception for the lock file at <paramref name="lockPath"/>.</summary>
    /// <param name="lockPath">The lock file that is held.</param>
    /// <param name="innerException">The underlying exception, when there is one.</param>
    public StorageLockedException(string lockPath, Exception? innerException = null)
        : base($"data directory is in use: the lock '{lockPath}' is held by another process or another storage instance in this process",
            lockPath, null, innerException)
    {
    }
}
