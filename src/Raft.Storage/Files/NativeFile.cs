using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RaftKv.Raft.Storage.Files;

/// <summary>
/// The few file operations .NET does not offer: fdatasync, fsync of a directory (so a create, rename or delete is
/// durable) and an explicit flock. Linux and other Unix systems use libc; Windows falls back to what .NET has.
/// </summary>
internal static partial class NativeFile
{
    private const int LockExclusive = 2; // LOCK_EX
    private const int LockNonBlocking = 4; // LOCK_NB
    private const int OpenReadOnly = 0; // O_RDONLY

    /// <summary>Tests observe directory syncs through this (called before each one); null in production.</summary>
    internal static Action<string>? DirectorySynced;

    private static bool IsUnix => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    /// <summary>
    /// Makes the file's written data durable. On Linux fdatasync(2): data plus only the metadata needed to read it
    /// back (the size), not timestamps; elsewhere a full flush. Throws <see cref="IOException"/> with the errno as HResult.
    /// </summary>
    public static void DataSync(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (fdatasync((int)handle.DangerousGetHandle()) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fdatasync failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Makes the directory's entries durable (files created, renamed or deleted in it). A no-op on Windows, whose
    /// file system journals directory changes itself.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        DirectorySynced?.Invoke(directory);
        if (!IsUnix) return;
        var fd = open(directory, OpenReadOnly);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open directory '{directory}' to sync it: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }
        try
        {
            if (fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync of directory '{directory}' failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>
    /// Takes an exclusive, non-blocking flock on an open file (on Unix). Returns false when another open file
    /// description holds it. .NET already does this for <see cref="FileShare.None"/>; doing it explicitly keeps the lock
    /// even when the runtime's file locking is switched off (DOTNET_SYSTEM_IO_DISABLEFILELOCKING).
    /// </summary>
    public static bool TryLockExclusive(SafeFileHandle handle)
    {
        if (!IsUnix) return true; // FileShare.None is enforced by Windows itself.
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (flock((int)handle.DangerousGetHandle(), LockExclusive | LockNonBlocking) == 0) return true;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == 11 /* EWOULDBLOCK */ || errno == 35 /* EWOULDBLOCK on BSD/macOS */) return false;
            throw new IOException($"flock failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(int fd, int operation);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
