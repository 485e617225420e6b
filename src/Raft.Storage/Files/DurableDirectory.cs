namespace RaftKv.Raft.Storage.Files;

/// <summary>
/// Directory changes that survive power loss. Creating a directory or renaming a file into one changes the parent
/// directory, which the kernel may keep in memory: until the parent is fsynced, a crash can take the new name away
/// (so a member could restart with its identity file, or its log directory, gone).
/// </summary>
public static class DurableDirectory
{
    /// <summary>
    /// Creates <paramref name="path"/> and any missing parents, then syncs the parent of each directory it created,
    /// top down. Nothing is synced when the directory existed.
    /// </summary>
    /// <exception cref="IOException">Creating or syncing failed.</exception>
    /// <exception cref="UnauthorizedAccessException">A directory on the way may not be created.</exception>
    public static void Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var missing = new Stack<string>();
        for (var p = full; p is not null && !Directory.Exists(p); p = Path.GetDirectoryName(p)) missing.Push(p);
        if (missing.Count == 0) return;
        Directory.CreateDirectory(full);
        while (missing.TryPop(out var created)) Sync(Path.GetDirectoryName(created)!);
    }

    /// <summary>Makes the entries of <paramref name="path"/> durable (files created, renamed or deleted in it).</summary>
    /// <exception cref="IOException">The directory cannot be opened or synced.</exception>
    public static void Sync(string path) => NativeFile.SyncDirectory(path);

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="contents"/> atomically and durably: a temporary file
    /// beside it is written and fsynced, renamed over it, and the directory is synced. A crash leaves the old file
    /// or the new one, never a mix or nothing.
    /// </summary>
    /// <exception cref="IOException">Writing, renaming or syncing failed (the old file is left as it was).</exception>
    public static void WriteFileAtomically(string path, ReadOnlySpan<byte> contents)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var temp = full + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(contents);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
        Sync(Path.GetDirectoryName(full)!);
    }
}
