namespace RaftKv.Raft.Storage;

/// <summary>
/// The storage could not do what was asked: a file could not be created, written or synced (disk full, read-only
/// directory, I/O error), or it failed earlier and refuses further writes. The message names the path and the reason.
/// </summary>
/// <remarks>
/// After a write or sync fails, the <see cref="DurableStorage"/> instance refuses every further write (a failed fsync
/// cannot be retried safely: the kernel may have dropped the dirty pages). Everything acknowledged before the failure
/// is on disk; dispose the instance, fix the cause and reopen.
/// </remarks>
public class StorageException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, naming the path and the reason.</param>
    /// <param name="path">The file or directory involved, when there is one.</param>
    /// <param name="errorCode">The operating system's error code (errno on Linux), when known.</param>
    /// <param name="innerException">The underlying exception, when there is one.</param>
    public StorageException(string message, string? path = null, int? errorCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
        ErrorCode = errorCode;
    }

    /// <summary>The file or directory involved, when there is one.</summary>
    public string? Path { get; }

    /// <summary>The operating system's error code (errno on Linux, e.g. 28 for ENOSPC), when known.</summary>
    public int? ErrorCode { get; }
}
