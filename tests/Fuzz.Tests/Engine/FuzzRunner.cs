using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace RaftKv.Fuzz.Tests.Engine;

/// <summary>What one bounded run did.</summary>
public sealed record FuzzReport(string Target, int Seed, long Executions, double Seconds, IReadOnlyDictionary<string, long> Outcomes)
{
    /// <summary>One line for the test output: target, seed, executions, rate and the outcome counts.</summary>
    public override string ToString()
    {
        var outcomes = string.Join(", ", Outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key}: {o.Value}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"fuzz {Target}: seed {Seed}, {Executions} executions in {Seconds:F1} s ({Executions / Math.Max(Seconds, 1e-9):F0}/s); {outcomes}");
    }
}

/// <summary>
/// Runs a target: first every corpus file (corpus/{target}/*, the seeds and the saved regressions), then
/// <c>executions</c> inputs generated from <c>seed</c>. Each execution is bounded: a watchdog flags one that runs past
/// <see cref="HangLimit"/> (and saves its input at once, in case it never returns; an input that is slow twice in a
/// row is a hang), and the bytes it allocated on the
/// calling thread must stay under <see cref="AllocationLimitBytes"/>. The first failing input is written to a file whose
/// path the exception names; <c>RAFTKV_FUZZ_REPLAY=path</c> runs that one input alone.
/// </summary>
public static class FuzzRunner
{
    /// <summary>
    /// One execution running longer than this (twice) is a hang: 10 s in the normal suite, where test assemblies share
    /// two cores and an HTTP request to a member may stall for a second under load; a long run sets
    /// <c>RAFTKV_FUZZ_HANG_MS=1000</c> to catch slow paths too.
    /// </summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromMilliseconds(
        int.TryParse(Environment.GetEnvironmentVariable("RAFTKV_FUZZ_HANG_MS"), out var ms) && ms > 0 ? ms : 10_000);

    /// <summary>One execution allocating more than this (on its thread) is an unbounded allocation.</summary>
    public const long AllocationLimitBytes = 64L * 1024 * 1024;

    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(30);

    // Generated inputs kept so that mutations compound (a mutation of a mutation), oldest replaced first.
    private const int RecentInputsMax = 256;

    /// <summary>Where failing inputs are written: RAFTKV_FUZZ_OUT, else {temp}/raftkv-fuzz.</summary>
    public static string FailureDirectory =>
        Environment.GetEnvironmentVariable("RAFTKV_FUZZ_OUT") is { Length: > 0 } dir ? dir : Path.Combine(Path.GetTempPath(), "raftkv-fuzz");

    /// <summary>RAFTKV_FUZZ_SEED, else <paramref name="defaultSeed"/>.</summary>
    public static int Seed(int defaultSeed) =>
        int.TryParse(Environment.GetEnvironmentVariable("RAFTKV_FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : defaultSeed;

    /// <summary>RAFTKV_FUZZ_EXECS, else <paramref name="defaultExecutions"/>.</summary>
    public static long Executions(long defaultExecutions) =>
        long.TryParse(Environment.GetEnvironmentVariable("RAFTKV_FUZZ_EXECS"), CultureInfo.InvariantCulture, out var n) ? n : defaultExecutions;

    /// <summary>The corpus files of <paramref name="target"/> shipped beside the tests.</summary>
    public static IReadOnlyList<string> CorpusFiles(string target)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "corpus", target);
        return Directory.Exists(dir) ? Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToArray() : [];
    }

    /// <summary>Runs the corpus, then <paramref name="executions"/> generated inputs; throws naming the saved input on the first finding.</summary>
    public static FuzzReport Run(IFuzzTarget target, int seed, long executions)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (Environment.GetEnvironmentVariable("RAFTKV_FUZZ_REPLAY") is { Length: > 0 } replay
            && Path.GetFileName(replay).StartsWith(target.Name + "-", StringComparison.Ordinal))
        {
            using var watchdog = new Watchdog(target.Name, seed);
            Execute(target, watchdog, File.ReadAllBytes(replay), -1);
            return new FuzzReport(target.Name, seed, 1, 0, new Dictionary<string, long> { ["replayed " + replay] = 1 });
        }
        var corpus = new List<byte[]>(target.Seeds());
        if (Environment.GetEnvironmentVariable("RAFTKV_FUZZ_DUMP_SEEDS") is { Length: > 0 } dump)
        {
            // The generated seeds as files (corpus/<target>/seed-*.bin in the repository), for other fuzzers to start from.
            Directory.CreateDirectory(Path.Combine(dump, target.Name));
            for (var i = 0; i < corpus.Count; i++) File.WriteAllBytes(Path.Combine(dump, target.Name, $"seed-{i:D2}.bin"), corpus[i]);
        }
        corpus.AddRange(CorpusFiles(target.Name).Select(File.ReadAllBytes));
        var recent = new List<byte[]>(RecentInputsMax);
        var random = new Random(seed);
        Outcomes.Begin();
        var clock = Stopwatch.StartNew();
        long done = 0;
        var nextProgress = ProgressEvery;
        using (var watchdog = new Watchdog(target.Name, seed))
        {
            foreach (var input in corpus) Execute(target, watchdog, input, done++);
            for (long i = 0; i < executions; i++)
            {
                var pool = recent.Count > 0 && random.Next(4) == 0 ? recent : corpus;
                var input = target.Generate(random, pool);
                Execute(target, watchdog, input, done++);
                if (clock.Elapsed >= nextProgress)
                {
                    // A long run shows it is alive (and how far it got, should it be stopped).
                    Console.WriteLine($"fuzz {target.Name}: {done} executions in {clock.Elapsed.TotalSeconds:F0} s");
                    nextProgress += ProgressEvery;
                }
                if (recent.Count < RecentInputsMax) recent.Add(input);
                else recent[random.Next(RecentInputsMax)] = input;
            }
        }
        return new FuzzReport(target.Name, seed, done, clock.Elapsed.TotalSeconds, Outcomes.End());
    }

    private static void Execute(IFuzzTarget target, Watchdog watchdog, byte[] input, long number)
    {
        var (finding, elapsed, allocated) = ExecuteOnce(target, watchdog, input, number);
        if (finding is null && elapsed > HangLimit)
        {
            // The inputs are deterministic and a real hang is too: a second run as slow is one. A single slow run was
            // a stall of the machine (two cores shared with builds: seen at 1.2 s, and 0.1 s when replayed).
            var again = ExecuteOnce(target, watchdog, input, number);
            finding = again.Finding;
            if (finding is null && again.Elapsed > HangLimit)
                finding = $"hang: the execution took {elapsed.TotalMilliseconds:F0} ms, then {again.Elapsed.TotalMilliseconds:F0} ms (limit {HangLimit.TotalMilliseconds:F0} ms)";
            Console.WriteLine($"fuzz {target.Name}: execution {number} took {elapsed.TotalMilliseconds:F0} ms, then {again.Elapsed.TotalMilliseconds:F0} ms when repeated");
        }
        if (finding is null && allocated > AllocationLimitBytes) finding = $"unbounded allocation: {allocated} bytes for a {input.Length}-byte input (limit {AllocationLimitBytes})";
        if (finding is null) return;
        var path = Save(target.Name, watchdog.Seed, number, input);
        throw new FuzzFindingException($"fuzz {target.Name} (seed {watchdog.Seed}, execution {number}): {finding}\n"
            + $"input saved to {path} ({input.Length} bytes); replay with RAFTKV_FUZZ_REPLAY={path}");
    }

    private static (string? Finding, TimeSpan Elapsed, long AllocatedBytes) ExecuteOnce(IFuzzTarget target, Watchdog watchdog, byte[] input, long number)
    {
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var started = watchdog.Begin(input, number);
        string? finding = null;
        try
        {
            target.Run(input);
        }
        catch (Exception e)
        {
            finding = e is FuzzFindingException ? e.Message : $"unexpected {e}";
        }
        var elapsed = started.Elapsed;
        watchdog.End();
        return (finding, elapsed, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);
    }

    internal static string Save(string target, int seed, long number, byte[] input)
    {
        Directory.CreateDirectory(FailureDirectory);
        var path = Path.Combine(FailureDirectory, $"{target}-seed{seed}-exec{number}.bin");
        File.WriteAllBytes(path, input);
        return path;
    }

    /// <summary>A thread that saves the input of an execution running past the hang limit, before it returns (if ever).</summary>
    private sealed class Watchdog : IDisposable
    {
        private readonly string _target;
        private readonly Thread _thread;
        private readonly CancellationTokenSource _stop = new();
        private readonly Stopwatch _clock = new();
        private readonly object _gate = new();
        private byte[]? _input;
        private long _number;
        private bool _reported;

        public Watchdog(string target, int seed)
        {
            _target = target;
            Seed = seed;
            _thread = new Thread(Watch) { IsBackground = true, Name = $"fuzz watchdog {target}" };
            _thread.Start();
        }

        public int Seed { get; }

        public Stopwatch Begin(byte[] input, long number)
        {
            lock (_gate)
            {
                _input = input;
                _number = number;
                _reported = false;
                _clock.Restart();
                return _clock;
            }
        }

        public void End()
        {
            lock (_gate)
            {
                _input = null;
                _clock.Stop();
            }
        }

        private void Watch()
        {
            while (!_stop.Token.WaitHandle.WaitOne(100))
            {
                lock (_gate)
                {
                    if (_input is null || _reported || _clock.Elapsed <= HangLimit) continue;
                    _reported = true;
                    var path = Save(_target, Seed, _number, _input);
                    var line = new StringBuilder().Append("fuzz ").Append(_target).Append(": execution ").Append(_number)
                        .Append(" is still running after ").Append(HangLimit.TotalSeconds).Append(" s; input saved to ").Append(path);
                    Console.Error.WriteLine(line.ToString());
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _stop.Dispose();
        }
    }
}
