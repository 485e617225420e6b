using System.Diagnostics;
using System.Globalization;
using RaftKv.Kv.Backend;
using RaftKv.Kv.Backend.Snapshots;

namespace RaftKv.Bench.Backend;

/// <summary>
/// <c>BackendBench --stream</c>: fills a backend with N keys of 1 KiB and closes it, then runs
/// <see cref="BackendStream.Write"/> (backend to a file, fsynced) and <see cref="BackendStream.Restore"/> (file to a
/// new directory) each in a fresh child process, so each phase's peak RSS (VmHWM) is its own: runtime, the backend's
/// buffers and the stream's frame. Peak managed heap is sampled every 10 ms. Checks the restored applied index and a
/// sample of values against the source.
/// </summary>
internal static class StreamBench
{
    public const string PhaseFlag = "--stream-phase";
    private const int SampledKeys = 10_000;

    public static void Run(string root, KvBackendOptions options, int keys)
    {
        var sourcePath = Path.Combine(root, "source");
        var streamPath = Path.Combine(root, "backend.stream");
        var restoredPath = Path.Combine(root, "restored");
        Console.WriteLine($"stream: keys {keys:N0} x {Program.ValueBytes} B, frame target {BackendStream.FrameTargetBytes >> 10} KiB, block cache {options.BlockCacheSizeBytes >> 20} MiB, write buffer {options.WriteBufferSizeBytes >> 20} MiB");
        using (var source = KvBackend.Open(sourcePath, options))
        {
            var (_, _, fillSeconds) = Program.WriteAll(source, keys, keys / 10);
            Program.Row("fill (not part of the stream)", $"{fillSeconds:F1} s");
        }
        RunChild("write", sourcePath, streamPath, options);
        Program.Row("stream size", $"{new FileInfo(streamPath).Length / (1024.0 * 1024):N0} MiB ({(double)new FileInfo(streamPath).Length / keys:F0} B/key)");
        RunChild("restore", streamPath, restoredPath, options);
        Program.Row("directory size", $"restored {Program.DirectoryBytes(restoredPath) / (1024.0 * 1024):N0} MiB, source {Program.DirectoryBytes(sourcePath) / (1024.0 * 1024):N0} MiB");
        Check(sourcePath, restoredPath, options, keys);
    }

    /// <summary>The child's side: one phase, then one line with its time, rate and peaks.</summary>
    public static int RunPhase(string[] args, KvBackendOptions options)
    {
        var at = Array.IndexOf(args, PhaseFlag);
        var (phase, from, to) = (args[at + 1], args[at + 2], args[at + 3]);
        long heapPeak = 0;
        using var sampler = new Timer(_ =>
        {
            var heap = GC.GetTotalMemory(forceFullCollection: false);
            if (heap > Interlocked.Read(ref heapPeak))
            {
                Interlocked.Exchange(ref heapPeak, heap);
            }
        }, null, 0, 10);
        var (bytes, seconds) = phase == "write" ? Write(from, to, options) : Restore(from, to, options);
        sampler.Dispose();
        Program.Row(phase == "write" ? "Write (backend to file)" : "Restore (file to backend)", string.Create(CultureInfo.InvariantCulture,
            $"{seconds:F2} s, {bytes / (1024.0 * 1024) / seconds:N0} MiB/s; process peak RSS {PeakRssMiB():N0} MiB, peak managed heap {Interlocked.Read(ref heapPeak) / (1024.0 * 1024):N1} MiB, allocated {GC.GetTotalAllocatedBytes(precise: true) / (1024.0 * 1024):N1} MiB"));
        return 0;
    }

    /// <summary>Times the stream and the file's fsync, not the backend's open (a WAL replay of the fill's tail).</summary>
    private static (long Bytes, double Seconds) Write(string sourcePath, string streamPath, KvBackendOptions options)
    {
        using var source = KvBackend.Open(sourcePath, options);
        using var view = source.OpenView();
        using var file = new FileStream(streamPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        var watch = Stopwatch.StartNew();
        var written = BackendStream.Write(view, file);
        file.Flush(flushToDisk: true);
        return (written, watch.Elapsed.TotalSeconds);
    }

    private static (long Bytes, double Seconds) Restore(string streamPath, string restoredPath, KvBackendOptions options)
    {
        using var file = new FileStream(streamPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var watch = Stopwatch.StartNew();
        BackendStream.Restore(file, restoredPath, options);
        return (file.Length, watch.Elapsed.TotalSeconds);
    }

    private static void RunChild(string phase, string from, string to, KvBackendOptions options)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var info = new ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(StreamBench).Assembly.Location);
        }
        foreach (var arg in new[] { PhaseFlag, phase, from, to, "--cache-mib", (options.BlockCacheSizeBytes >> 20).ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }
        using var child = Process.Start(info) ?? throw new InvalidOperationException("could not start the phase");
        if (!child.WaitForExit(TimeSpan.FromMinutes(10)) || child.ExitCode != 0)
        {
            throw new InvalidOperationException($"phase {phase} failed or took over 10 minutes");
        }
    }

    /// <summary>Same applied index, same values for a sample of keys (the tests compare every record).</summary>
    private static void Check(string sourcePath, string restoredPath, KvBackendOptions options, int keys)
    {
        using var source = KvBackend.Open(sourcePath, options);
        using var restored = KvBackend.Open(restoredPath, options);
        using var a = source.OpenView();
        using var b = restored.OpenView();
        var random = new Random(3);
        Span<byte> key = stackalloc byte[16];
        for (var i = 0; i < SampledKeys; i++)
        {
            Program.KeyOf(random.Next(keys), key);
            if (!a.TryGet(key, out var expected) || !b.TryGet(key, out var actual) || !expected.AsSpan().SequenceEqual(actual))
            {
                throw new InvalidOperationException("a sampled key differs between the source and the restored backend");
            }
        }
        if (source.AppliedIndex != restored.AppliedIndex)
        {
            throw new InvalidOperationException("the restored applied index differs from the source's");
        }
        Program.Row("check", $"applied index {restored.AppliedIndex:N0} on both, {SampledKeys:N0} sampled values equal");
    }

    private static long PeakRssMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) / 1024;
            }
        }
        return -1;
    }
}
