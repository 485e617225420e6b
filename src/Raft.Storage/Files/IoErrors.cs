using System.Globalization;

namespace RaftKv.Raft.Storage.Files;

/// <summary>Turns the runtime's I/O exceptions into <see cref="StorageException"/>s that name the path and the reason.</summary>
internal static class IoErrors
{
    /// <summary>Whether <paramref name="e"/> is an I/O failure this class translates (not a bug or a contract violation).</summary>
    public static bool IsIoFailure(Exception e) => e is IOException or UnauthorizedAccessException;

    /// <summary>A <see cref="StorageException"/> saying that <paramref name="action"/> on <paramref name="path"/> failed.</summary>
    public static StorageException Translate(Exception e, string action, string path)
    {
        var (code, reason) = Classify(e);
        var hint = code switch
        {
            28 or 122 => " Free disk space and reopen; nothing acknowledged was lost.",
            30 or 13 or 1 => " Make the data directory writable and reopen.",
            _ => string.Empty,
        };
        return new StorageException($"{action} '{path}' failed: {reason}.{hint}", path, code, e);
    }

    private static (int? Code, string Reason) Classify(Exception e)
    {
        if (e is UnauthorizedAccessException) return (13, "permission denied (EACCES)");
        if (e is not IOException io) return (null, e.Message);
        if (OperatingSystem.IsWindows())
            return (io.HResult, $"{io.Message} (HRESULT 0x{io.HResult.ToString("X8", CultureInfo.InvariantCulture)})");
        var errno = io.HResult;
        var name = errno switch
        {
            1 => "operation not permitted (EPERM)",
            5 => "I/O error (EIO)",
            11 => "resource temporarily unavailable (EAGAIN)",
            13 => "permission denied (EACCES)",
            17 => "file exists (EEXIST)",
            24 => "too many open files (EMFILE)",
            27 => "file too large (EFBIG)",
            28 => "disk full (ENOSPC)",
            30 => "read-only file system (EROFS)",
            122 => "disk quota exceeded (EDQUOT)",
            _ => null,
        };
        return name is null
            ? (errno > 0 && errno < 4096 ? errno : null, io.Message)
            : (errno, $"{name}, errno {errno.ToString(CultureInfo.InvariantCulture)}: {io.Message}");
    }
}
