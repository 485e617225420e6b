namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>A fresh directory under the system temp path, deleted (with its contents) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string? name = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "raftkv-storage-tests", (name ?? "t") + "-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A path inside this directory (not created).</summary>
    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Leftovers in the temp directory are harmless; never fail a test on cleanup.
        }
    }
}
