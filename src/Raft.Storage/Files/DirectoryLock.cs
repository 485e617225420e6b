using System.Globalization;
using System.Text;

namespace RaftKv.Raft.Storage.Files;

/// <summary>
/// An exclusive lock on a data directory: the file <c>LOCK</c> held open with <see cref="FileShare.None"/> plus an
/// explicit flock. The kernel releases it when the process dies, so a crash never leaves a stale lock. A second
/// holder (another process, or another instance in this process) gets <see cref="StorageLockedException"/>.
/// </summary>
internal sealed class DirectoryLock : IDisposable
{
    /// <summary>Name of the lock file inside the data directory.</summary>
    public const string FileName = "LOCK";

    private readonly FileStream _stream;

    private DirectoryLock(FileStream stream, string path)
    {
        _stream = stream;
        Path = path;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>Takes the lock or throws <see cref="StorageLockedException"/> / <see cref="StorageException"/>.</summary>
    public static DirectoryLock Acquire(string directory)
    {
        var path = System.IO.Path.Combine(directory, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException e) when (IsSharingViolation(e))
        {
            throw new StorageLockedException(path, e);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "creating the lock file", path);
        }
        try
        {
            if (!NativeFile.TryLockExclusive(stream.SafeFileHandle)) throw new StorageLockedException(path);
            // The holder's pid, for a human looking at the directory. Not used for locking.
            var pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            stream.SetLength(0);
            stream.Write(pid);
            stream.Flush();
            return new DirectoryLock(stream, path);
        }
        catch (Exception e)
        {
            stream.Dispose();
            if (IoErrors.IsIoFailure(e)) throw IoErrors.Translate(e, "writing the lock file", path);
            throw;
        }
    }

    private static bool IsSharingViolation(IOException e) =>
        OperatingSystem.IsWindows()
            ? e.HResult is unchecked((int)0x80070020) or unchecked((int)0x80070021)
            : e.HResult is 11 or 35; // EWOULDBLOCK from flock

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _stream.Dispose();
}
