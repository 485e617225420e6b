using System.Diagnostics;
using System.Globalization;
using System.Text;
using RaftKv.Kv.Backend.Snapshots;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// The child process of <see cref="SwitchCrashTests"/>: switches a state root to new generations of data through the
/// whole path (source backend, <see cref="BackendStream.Write"/>, <see cref="BackendStream.Restore"/> into staging,
/// <see cref="StateDirectory.Promote"/>), and either kills itself with SIGKILL at one step of the promotion
/// (<see cref="StepCommand"/>) or loops until the parent kills it (<see cref="LoopCommand"/>).
/// </summary>
/// <remarks>
/// Output lines: "ready G" (the live generation at start), "promoted G" (generation G is live and durable),
/// "crash STEP" (about to be killed at that step).
/// </remarks>
public static class SwitchCrashChild
{
    public const string StepCommand = "switch-step";
    public const string LoopCommand = "switch-loop";
    public const string NoCrash = "none";

    /// <summary>A bound on the loop: the parent kills the child long before it gets here.</summary>
    public const int LoopGenerationsMax = 10_000;

    public static int Run(string[] args)
    {
        if (args.Length < 2 || (args[0] == StepCommand && args.Length != 3))
        {
            Console.Error.WriteLine($"usage: {StepCommand} ROOT STEP | {LoopCommand} ROOT");
            return 2;
        }
        var root = args[1];
        var state = StateDirectory.Open(root, BackendContent.Small);
        var live = ReadGeneration(state.LivePath);
        Say($"ready {live}");
        if (args[0] == StepCommand)
        {
            StateDirectory.StepReached = step =>
            {
                if (step.ToString() == args[2])
                {
                    Say($"crash {step}");
                    Process.GetCurrentProcess().Kill(); // SIGKILL: no finalizers, no flushes.
                    Thread.Sleep(Timeout.Infinite);
                }
            };
            Switch(state, live + 1, report: true);
            return 0;
        }
        for (var g = live + 1; g <= live + LoopGenerationsMax; g++)
        {
            Switch(state, g, report: true);
        }
        return 0;
    }

    /// <summary>Makes generation <paramref name="g"/> live through a stream, then deletes the old backend.</summary>
    /// <param name="report">Print "promoted G" once it is live (the child's acknowledgement to the parent).</param>
    public static void Switch(StateDirectory state, int g, bool report = false)
    {
        var scratch = Path.Combine(Path.GetDirectoryName(state.RootPath)!, "source");
        if (Directory.Exists(scratch))
        {
            Directory.Delete(scratch, recursive: true);
        }
        var stream = new MemoryStream();
        using (var source = KvBackend.Open(scratch, BackendContent.Small))
        {
            Generation.Commit(source, g);
            using var view = source.OpenView();
            BackendStream.Write(view, stream);
        }
        stream.Position = 0;
        var staging = state.NewStagingPath();
        BackendStream.Restore(stream, staging, BackendContent.Small);
        state.Promote(staging);
        if (report)
        {
            Say($"promoted {g}");
        }
        state.DeleteRetired();
    }

    private static int ReadGeneration(string path)
    {
        using var backend = KvBackend.Open(path, BackendContent.Small);
        using var view = backend.OpenView();
        return view.TryGet(Generation.MarkerKey, out var value)
            ? int.Parse(Encoding.ASCII.GetString(value), CultureInfo.InvariantCulture)
            : 0;
    }

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}
