using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using RaftKv.Kv.Backend;

namespace RaftKv.Bench.Backend;

/// <summary>
/// Writes N keys of 1 KiB in batches of 100 (one applied Raft batch each, with its applied index), then reports
/// throughput of the first and last 10% of keys, resident memory, the size estimate, reopen time, checkpoint time
/// and random point-read latency. Usage: BackendBench [--keys N] [--reads N] [--dir PATH] [--cache-mib N] [--keep].
/// With --stream: Write and Restore of the whole backend as a snapshot stream instead (<see cref="StreamBench"/>).
/// </summary>
public static class Program
{
    internal const int ValueBytes = 1024;
    private const int KeysPerBatch = 100;

    public static int Main(string[] args)
    {
        if (args.Contains(StreamBench.PhaseFlag))
        {
            return StreamBench.RunPhase(args, KvBackendOptions.Default with { BlockCacheSizeBytes = (long)IntFlag(args, "--cache-mib", 64) << 20 });
        }
        var keys = IntFlag(args, "--keys", 1_000_000);
        var reads = IntFlag(args, "--reads", 100_000);
        var cacheMiB = IntFlag(args, "--cache-mib", 64);
        var root = Flag(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "backend-bench-" + Environment.ProcessId);
        if (keys < 10 * KeysPerBatch || reads < 1)
        {
            Console.Error.WriteLine($"--keys must be at least {10 * KeysPerBatch} and --reads at least 1.");
            return 2;
        }
        var options = KvBackendOptions.Default with { BlockCacheSizeBytes = (long)cacheMiB << 20 };
        var dbPath = Path.Combine(root, "db");
        Directory.CreateDirectory(root);
        try
        {
            if (args.Contains("--stream"))
            {
                StreamBench.Run(root, options, keys);
            }
            else
            {
                Run(dbPath, Path.Combine(root, "checkpoint"), options, keys, reads);
            }
        }
        finally
        {
            if (!args.Contains("--keep"))
            {
                Directory.Delete(root, recursive: true);
            }
        }
        return 0;
    }

    private static void Run(string dbPath, string checkpointPath, KvBackendOptions options, int keys, int reads)
    {
        Console.WriteLine($"keys {keys:N0} x {ValueBytes} B, batches of {KeysPerBatch}, block cache {options.BlockCacheSizeBytes >> 20} MiB, write buffer {options.WriteBufferSizeBytes >> 20} MiB");
        var backend = KvBackend.Open(dbPath, options);
        var tenth = keys / 10;
        var (firstSeconds, lastSeconds, totalSeconds) = WriteAll(backend, keys, tenth);
        Row("write, first 10%", $"{tenth / firstSeconds:N0} keys/s");
        Row("write, last 10%", $"{tenth / lastSeconds:N0} keys/s");
        Row("write, all", $"{keys / totalSeconds:N0} keys/s ({totalSeconds:F1} s)");
        var flush = Stopwatch.StartNew();
        backend.FlushDurable();
        Row("FlushDurable", $"{flush.Elapsed.TotalMilliseconds:F1} ms");
        Row("RSS after writes", $"{RssMiB():N0} MiB");
        Row("ApproximateSizeBytes", $"{backend.ApproximateSizeBytes / (1024.0 * 1024):N0} MiB");
        Row("directory size", $"{DirectoryBytes(dbPath) / (1024.0 * 1024):N0} MiB");
        var applied = backend.AppliedIndex;
        backend.Dispose();

        var reopen = Stopwatch.StartNew();
        backend = KvBackend.Open(dbPath, options);
        var reopenedIndex = backend.AppliedIndex;
        Row("reopen + AppliedIndex", $"{reopen.Elapsed.TotalMilliseconds:F1} ms (index {reopenedIndex:N0}, expected {applied:N0})");

        var checkpoint = Stopwatch.StartNew();
        var checkpointIndex = backend.Checkpoint(checkpointPath);
        Row("Checkpoint", $"{checkpoint.Elapsed.TotalMilliseconds:F1} ms (index {checkpointIndex:N0})");

        var (p50, p99) = PointReads(backend, keys, reads);
        Row($"point read, {reads:N0} random", $"p50 {p50:F1} us, p99 {p99:F1} us");
        Row("RSS at end", $"{RssMiB():N0} MiB");
        backend.Dispose();
    }

    internal static (double First, double Last, double Total) WriteAll(KvBackend backend, int keys, int tenth)
    {
        // Values are 1 KiB windows at scattered offsets of 4 MiB of random bytes: incompressible, as user values
        // often are, and different from each other (one repeated value would compress within a block).
        var source = new byte[(4 << 20) + ValueBytes];
        new Random(1).NextBytes(source);
        Span<byte> key = stackalloc byte[16];
        using var batch = new BackendBatch();
        var total = Stopwatch.StartNew();
        double first = 0, lastStart = 0;
        ulong index = 0;
        for (var i = 0; i < keys; i++)
        {
            KeyOf(i, key);
            batch.Put(key, source.AsSpan((int)((uint)i * 2654435761U % (4U << 20)), ValueBytes));
            if (batch.Count == KeysPerBatch || i == keys - 1)
            {
                backend.Commit(batch, ++index);
            }
            if (i + 1 == tenth)
            {
                first = total.Elapsed.TotalSeconds;
            }
            if (i + 1 == keys - tenth)
            {
                lastStart = total.Elapsed.TotalSeconds;
            }
        }
        var all = total.Elapsed.TotalSeconds;
        return (first, all - lastStart, all);
    }

    private static (double P50Us, double P99Us) PointReads(KvBackend backend, int keys, int reads)
    {
        var random = new Random(2);
        var latencies = new double[reads];
        Span<byte> key = stackalloc byte[16];
        using var view = backend.OpenView();
        for (var r = 0; r < reads; r++)
        {
            KeyOf(random.Next(keys), key);
            var start = Stopwatch.GetTimestamp();
            var found = view.TryGet(key, out _);
            latencies[r] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            if (!found)
            {
                throw new InvalidOperationException("a written key is missing");
            }
        }
        Array.Sort(latencies);
        return (latencies[reads / 2], latencies[(int)(reads * 0.99)]);
    }

    /// <summary>A 16-byte key in scattered order (hash of i), as real keys arrive.</summary>
    internal static void KeyOf(int i, Span<byte> key)
    {
        var h = (ulong)i * 0x9E3779B97F4A7C15UL;
        BinaryPrimitives.WriteUInt64BigEndian(key, h ^ (h >> 29));
        BinaryPrimitives.WriteUInt64BigEndian(key[8..], (ulong)i);
    }

    internal static long RssMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kib = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                return kib / 1024;
            }
        }
        return -1;
    }

    internal static long DirectoryBytes(string path) =>
        new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    internal static void Row(string name, string value) => Console.WriteLine($"  {name,-30} {value}");

    private static string? Flag(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static int IntFlag(string[] args, string name, int fallback) =>
        Flag(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
}
