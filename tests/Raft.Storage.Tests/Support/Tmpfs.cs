using System.Diagnostics;

namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>A small tmpfs mounted for one test (needs root), unmounted on dispose.</summary>
public sealed class Tmpfs : IDisposable
{
    private Tmpfs(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="sizeBytes"/> at <paramref name="path"/>; null when that is not possible (not root).</summary>
    public static Tmpfs? TryMount(string path, long sizeBytes, bool readOnly = false)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root") return null;
        Directory.CreateDirectory(path);
        var options = $"size={sizeBytes}" + (readOnly ? ",ro" : string.Empty);
        return Run("mount", "-t", "tmpfs", "-o", options, "tmpfs", path) ? new Tmpfs(path) : null;
    }

    private static bool Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false, RedirectStandardError = true })!;
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    public void Dispose()
    {
        if (!Run("umount", Path)) Run("umount", "-l", Path);
    }
}
