using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using RaftKv.Cli;
using RaftKv.Http.Cluster;

namespace RaftKv.Http.Faults;

/// <summary>This process as fault injection sees it: its command line, signals to itself and to a paused sibling, and relaunching.</summary>
internal static partial class SelfProcess
{
    public const int SigKill = 9;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>Waits (bounded, about 30 s) for process $1 to be gone, then runs the rest of the arguments in its place.</summary>
    private const string RelaunchScript =
        "i=0; while kill -0 \"$1\" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; shift; exec \"$@\"";

    /// <summary>Sends SIGCONT to $2 after $1 seconds, and twice more a little later in case the stop came late.</summary>
    private const string ResumeScript =
        "sleep \"$1\"; kill -CONT \"$2\" 2>/dev/null; sleep 0.5; kill -CONT \"$2\" 2>/dev/null; sleep 2; kill -CONT \"$2\" 2>/dev/null; exit 0";

    private const string Shell = "/bin/sh";

    public static int Pid => Environment.ProcessId;

    /// <summary>How to start this member again: its arguments, directory and RAFTKV_* settings.</summary>
    public static LaunchCommand Launch() => new(
        Environment.GetCommandLineArgs().Skip(1).ToArray(),
        Environment.CurrentDirectory,
        Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(k => k.StartsWith("RAFTKV_", StringComparison.Ordinal))
            .ToDictionary(k => k, k => Environment.GetEnvironmentVariable(k) ?? "", StringComparer.Ordinal));

    public static void Signal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Arranges for SIGCONT after <paramref name="pause"/>, from a helper process, then stops this process.</summary>
    public static void PauseSelf(TimeSpan pause)
    {
        var seconds = pause.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        StartShell(ResumeScript, [seconds, Pid.ToString(CultureInfo.InvariantCulture)], null);
        Signal(Pid, SigStop);
    }

    /// <summary>Starts <paramref name="launch"/> with this binary once process <paramref name="waitForPid"/> is gone.</summary>
    public static void Relaunch(LaunchCommand launch, int waitForPid)
    {
        var program = ClusterCommand.SelfInvocation();
        var args = new List<string> { waitForPid.ToString(CultureInfo.InvariantCulture), program.FileName };
        args.AddRange(program.ArgumentList);
        args.AddRange(launch.Arguments);
        StartShell(RelaunchScript, args, launch);
    }

    /// <summary>Whether <paramref name="pid"/> is a raftkv member named <paramref name="name"/> (guards signals against reused pids).</summary>
    public static bool IsMember(int pid, string name)
    {
        try
        {
            var parts = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0');
            var at = Array.IndexOf(parts, "--name");
            return parts.Contains("serve") && at >= 0 && at + 1 < parts.Length && parts[at + 1] == name;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Runs a small sh script detached: its children inherit this process's standard streams.</summary>
    private static void StartShell(string script, IEnumerable<string> args, LaunchCommand? launch)
    {
        var start = new ProcessStartInfo(Shell) { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add("raftkv-fault");
        foreach (var a in args) start.ArgumentList.Add(a);
        if (launch is not null)
        {
            start.WorkingDirectory = launch.WorkingDirectory;
            foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("RAFTKV_", StringComparison.Ordinal)).ToArray()) start.Environment.Remove(key);
            foreach (var (key, value) in launch.Environment) start.Environment[key] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Shell}");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
