using System.Diagnostics;
using RaftKv.Robustness.Logs;

namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// Reads stopped members' logs with <c>raftkv wal dump --json</c>, for
/// <see cref="IndeterminateWrites.Resolve"/> after a robustness run (as etcd's suite reads its members' WALs). The
/// dump's stdout is parsed as it streams (a run's log has far more lines than <see cref="RaftKvBinary.RunAsync"/>
/// keeps, and stderr stays apart from it); stderr is kept for the error message, bounded.
/// </summary>
public static class WalDumps
{
    /// <summary>Bound on one dump (a cold start of the binary on a loaded machine plus the read).</summary>
    public static readonly TimeSpan DumpBound = TimeSpan.FromSeconds(120);

    private const int MaxErrorChars = 64 * 1024;

    /// <summary>
    /// Dumps and parses the log in <paramref name="dataDir"/> (a member's <c>--data-dir</c>; the member must be
    /// stopped). Throws with the command's stderr when it fails (directory in use, damaged) or its output is not a dump.
    /// </summary>
    public static async Task<CommittedLog> ReadAsync(string dataDir, string source)
    {
        CommittedLog? log = null;
        var (code, stderr) = await RunAsync(["--data-dir", dataDir, "--json"], stdout => log = CommittedLog.Parse(stdout, source)).ConfigureAwait(false);
        if (code != 0) throw new InvalidOperationException($"raftkv wal dump --data-dir {dataDir} exited {code}:\n{stderr}");
        return log ?? throw new InvalidOperationException($"raftkv wal dump --data-dir {dataDir} printed no valid dump:\n{stderr}");
    }

    /// <summary>
    /// Runs <c>raftkv wal dump</c> with <paramref name="args"/> and returns its exit code, whole stdout (bounded by
    /// <paramref name="maxStdoutChars"/>) and stderr.
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IReadOnlyList<string> args, int maxStdoutChars = 16 << 20)
    {
        var stdout = "";
        var (code, stderr) = await RunAsync(args, reader => stdout = ReadBoundedAsync(reader, maxStdoutChars).GetAwaiter().GetResult()).ConfigureAwait(false);
        return (code, stdout, stderr);
    }

    // Runs the dump with stdout going to readStdout (on a thread of its own, as it streams) and returns the exit code
    // and stderr. A readStdout that fails on output it cannot read is ignored when the command failed (its stderr says
    // why); stdout is drained either way, so the child never blocks on a full pipe.
    private static async Task<(int ExitCode, string Stderr)> RunAsync(IReadOnlyList<string> args, Action<StreamReader> readStdout)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { RaftKvBinary.DllPath, "wal", "dump" }.Concat(args)) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var stderr = ReadBoundedAsync(process.StandardError, MaxErrorChars);
        var reading = Task.Run(() =>
        {
            try
            {
                readStdout(process.StandardOutput);
                return (Exception?)null;
            }
            catch (FormatException e)
            {
                return e;
            }
            finally
            {
                process.StandardOutput.ReadToEnd();
            }
        });
        using var timeout = new CancellationTokenSource(DumpBound);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"raftkv wal dump {string.Join(' ', args)} did not exit within {DumpBound.TotalSeconds} s");
        }
        var errors = await stderr.ConfigureAwait(false);
        var failure = await reading.ConfigureAwait(false);
        if (failure is not null && process.ExitCode == 0)
            throw new InvalidOperationException($"raftkv wal dump {string.Join(' ', args)} printed no valid dump: {failure.Message}\n{errors}", failure);
        return (process.ExitCode, errors);
    }

    /// <summary>The logs of every member in <paramref name="members"/> (all stopped), one after another.</summary>
    public static async Task<IReadOnlyList<CommittedLog>> ReadAllAsync(IEnumerable<MemberProcess> members)
    {
        var logs = new List<CommittedLog>();
        foreach (var member in members) logs.Add(await ReadAsync(member.DataDir, member.Name).ConfigureAwait(false));
        return logs;
    }

    // Keeps the first maxChars and drains the rest, so the child never blocks on a full pipe.
    private static async Task<string> ReadBoundedAsync(StreamReader reader, int maxChars)
    {
        var kept = new System.Text.StringBuilder();
        var buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            if (kept.Length < maxChars) kept.Append(buffer, 0, Math.Min(n, maxChars - kept.Length));
        }
        return kept.ToString();
    }
}
