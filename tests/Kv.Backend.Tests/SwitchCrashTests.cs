using System.Diagnostics;
using System.Globalization;
using System.Text;
using RaftKv.Kv.Backend.Snapshots;
using Xunit.Abstractions;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// A child process switches a state root to a new generation and is killed with SIGKILL at each step of
/// <see cref="StateDirectory.Promote"/>, or at random moments of a loop of switches (during source building,
/// streaming, restore, promotion or deletion of the old backend). After each crash <see cref="StateDirectory.Open"/>
/// must return exactly one whole generation: the old before the pointer's rename, the new from it on.
/// </summary>
public sealed class SwitchCrashTests(ITestOutputHelper output)
{
    private const int LoopRounds = 8;
    private const int KillDelayMsMin = 20;
    private const int KillDelayMsMax = 600;
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(nameof(PromoteStep.StagingVerified), 1)]
    [InlineData(nameof(PromoteStep.StagingRenamed), 1)]
    [InlineData(nameof(PromoteStep.PointerTempWritten), 1)]
    [InlineData(nameof(PromoteStep.PointerRenamed), 2)]
    [InlineData(SwitchCrashChild.NoCrash, 2)]
    public void Kill_at_a_step_of_promote_leaves_the_old_backend_or_the_new(string step, int expectedGeneration)
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        SwitchCrashChild.Switch(StateDirectory.Open(root, BackendContent.Small), 1);

        var (lines, exitCode) = RunToEnd(SwitchCrashChild.StepCommand, root, step);
        output.WriteLine($"{step}: exit {exitCode}, output [{string.Join(" | ", lines)}]");
        if (step == SwitchCrashChild.NoCrash)
        {
            Assert.Equal(0, exitCode);
            Assert.Equal(["ready 1", "promoted 2"], lines);
        }
        else
        {
            Assert.Equal(["ready 1", $"crash {step}"], lines); // It died at the step, not before or after.
            Assert.NotEqual(0, exitCode);
        }

        var state = StateDirectory.Open(root, BackendContent.Small);
        Assert.Equal(expectedGeneration, VerifyWholeGeneration(state.LivePath));
        Assert.Equal(["CURRENT", Path.GetFileName(state.LivePath)],
            Directory.GetFileSystemEntries(root).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Kill_at_random_moments_of_repeated_switches_leaves_one_whole_generation()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        SwitchCrashChild.Switch(StateDirectory.Open(root, BackendContent.Small), 1);
        var random = new Random(12); // Fixed seed: the delays repeat; where the kill lands still varies.
        var generation = 1;
        for (var round = 1; round <= LoopRounds; round++)
        {
            var (ready, promoted) = RunAndKill(root, random.Next(KillDelayMsMin, KillDelayMsMax));
            Assert.Equal(generation, ready); // The child started from the last verified state.
            var left = string.Join(", ", Directory.GetFileSystemEntries(root).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal));
            var live = VerifyWholeGeneration(StateDirectory.Open(root, BackendContent.Small).LivePath);
            output.WriteLine($"round {round}: started at {ready}, last promoted {promoted}, live {live}; the kill left [{left}]");
            // "promoted G" is printed after the switch is durable, so G or the next one (promoted but not yet printed) is live.
            var acknowledged = Math.Max(ready, promoted);
            Assert.True(live == acknowledged || live == acknowledged + 1, $"live generation {live}, acknowledged {acknowledged}");
            generation = live;
        }
    }

    private static (List<string> Lines, int ExitCode) RunToEnd(params string[] args)
    {
        using var child = TestChild.Start(args);
        var lines = new List<string>();
        var stderr = new StringBuilder();
        child.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (lines) { lines.Add(e.Data); } } };
        child.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        if (!child.WaitForExit((int)StepTimeout.TotalMilliseconds))
        {
            child.Kill();
            Assert.Fail($"the child did not finish within {StepTimeout}: {stderr}");
        }
        child.WaitForExit(); // Drains the redirected output.
        lock (lines)
        {
            return ([.. lines], child.ExitCode);
        }
    }

    private static (int Ready, int Promoted) RunAndKill(string root, int killDelayMs)
    {
        using var child = TestChild.Start(SwitchCrashChild.LoopCommand, root);
        var ready = -1;
        var promoted = 0;
        using var started = new ManualResetEventSlim();
        child.OutputDataReceived += (_, e) =>
        {
            var parts = e.Data?.Split(' ');
            if (parts is not [var what, var number])
            {
                return;
            }
            var value = int.Parse(number, CultureInfo.InvariantCulture);
            if (what == "ready")
            {
                Volatile.Write(ref ready, value);
                started.Set();
            }
            else if (what == "promoted")
            {
                Volatile.Write(ref promoted, value);
            }
        };
        var stderr = new StringBuilder();
        child.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        try
        {
            Assert.True(started.Wait(StepTimeout), $"the child did not start within {StepTimeout}: {stderr}");
            Thread.Sleep(killDelayMs); // The one deliberate wait: a bounded random moment to kill at.
        }
        finally
        {
            child.Kill(); // SIGKILL on Unix.
        }
        Assert.True(child.WaitForExit((int)StepTimeout.TotalMilliseconds), "the killed child did not exit");
        child.WaitForExit(); // Drains the redirected output, so the last "promoted" is seen.
        Assert.True(stderr.ToString().Trim().Length == 0, $"the child failed: {stderr}");
        return (Volatile.Read(ref ready), Volatile.Read(ref promoted));
    }

    /// <summary>Opens the backend and checks it holds exactly one generation's content and applied index; returns it.</summary>
    private static int VerifyWholeGeneration(string path)
    {
        using var backend = KvBackend.Open(path, BackendContent.Small);
        using var view = backend.OpenView();
        Assert.True(view.TryGet(Generation.MarkerKey, out var marker), $"no generation marker in '{path}'");
        var g = int.Parse(Encoding.ASCII.GetString(marker), CultureInfo.InvariantCulture);
        Assert.Equal(Generation.AppliedIndex(g), backend.AppliedIndex);
        var seen = 0;
        using var it = view.IterateFrom([]);
        for (; it.Valid && seen <= Generation.KeyCount(g); it.Next())
        {
            var key = Encoding.ASCII.GetString(it.Key);
            if (key == "gen")
            {
                continue;
            }
            Assert.Equal($"g{g}-{seen:D5}", key); // In order, none missing, none from another generation.
            Assert.Equal(Generation.Value(g, seen), Encoding.ASCII.GetString(it.Value));
            seen++;
        }
        Assert.Equal(Generation.KeyCount(g), seen);
        Assert.False(it.Valid, "keys beyond the generation's");
        return g;
    }
}
