namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>A copy of every file under a directory (relative path to bytes), to rebuild crash states from.</summary>
public sealed class DirectoryImage
{
    private readonly Dictionary<string, byte[]> _files;

    private DirectoryImage(Dictionary<string, byte[]> files) => _files = files;

    public IReadOnlyDictionary<string, byte[]> Files => _files;

    /// <summary>Captures the data files (the lock file is skipped: the kernel drops the lock on a crash).</summary>
    public static DirectoryImage Capture(string root)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(root, file);
            if (rel == "LOCK") continue;
            files[rel] = File.ReadAllBytes(file);
        }
        return new DirectoryImage(files);
    }

    /// <summary>Writes the image into a new directory, after letting <paramref name="edit"/> change copies of the bytes.</summary>
    public void Materialize(string target, Func<string, byte[], byte[]>? edit = null)
    {
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        Directory.CreateDirectory(target);
        foreach (var (rel, bytes) in _files)
        {
            var path = Path.Combine(target, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var copy = (byte[])bytes.Clone();
            File.WriteAllBytes(path, edit is null ? copy : edit(rel, copy));
        }
    }
}
