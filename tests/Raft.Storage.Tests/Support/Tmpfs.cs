using System.Diagnostics;

namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>A small tmpfs mounted for one test (needs root on Linux), unmounted on dispose.</summary>
/// <remarks>Tests that mount one are marked <c>[RequiresFact(Requirement.Tmpfs)]</c>, which skips them (or fails them in CI) where mounting is not possible.</remarks>
public sealed class Tmpfs : IDisposable
{
    private Tmpfs(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="sizeBytes"/> at <paramref name="path"/>; throws, with mount's own message, when that fails.</summary>
    public static Tmpfs Mount(string path, long sizeBytes, bool readOnly = false)
    {
        Directory.CreateDirectory(path);
        var options = $"size={sizeBytes}" + (readOnly ? ",ro" : string.Empty);
        var (ok, error) = Run("mount", "-t", "tmpfs", "-o", options, "tmpfs", path);
        return ok ? new Tmpfs(path) : throw new InvalidOperationException($"mount -t tmpfs -o {options} tmpfs {path} failed: {error}");
    }

    /// <summary>Why a tmpfs cannot be mounted here, or null when it can (tried once per process on a scratch directory).</summary>
    public static string? WhyNotMountable => Probe.Value;

    private static readonly Lazy<string?> Probe = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "mounting a tmpfs needs Linux";
        if (!Environment.IsPrivilegedProcess) return "mounting a tmpfs needs root";
        using var dir = new TempDirectory("tmpfs-probe");
        try
        {
            using var probe = Mount(dir.Sub("probe"), 64 * 1024);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"mounting a tmpfs failed although running as root (a container needs CAP_SYS_ADMIN): {e.Message}";
        }
    });

    private static (bool Ok, string Error) Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false, RedirectStandardError = true })!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode == 0, error.Trim());
    }

    public void Dispose()
    {
        if (!Run("umount", Path).Ok) Run("umount", "-l", Path);
    }
}
