using System.Globalization;
using RaftKv.Bench.Storage;
using RaftKv.Raft.Storage;

// Usage: StorageBench [directory] [seconds-per-measurement]
// Interleaves raw-disk and log measurements in rounds, so both see the same (noisy, shared) disk.
// Or: StorageBench --roll-latency [directory] [rolls] [entry-bytes] [batch] (see RollLatency).
var culture = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "--roll-latency")
{
    var dir = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "raftkv-rolllatency-" + Guid.NewGuid().ToString("N")[..8]);
    try
    {
        RollLatency.Run(dir, args.Length > 2 ? int.Parse(args[2], culture) : 8, args.Length > 3 ? int.Parse(args[3], culture) : 1024,
            args.Length > 4 ? int.Parse(args[4], culture) : 64);
    }
    finally
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
    return;
}
var root = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "raftkv-storagebench-" + Guid.NewGuid().ToString("N")[..8]);
var logSeconds = args.Length > 1 ? double.Parse(args[1], culture) : 0.4;
const int rounds = 6;
var rawSlice = TimeSpan.FromSeconds(logSeconds / 2);
var logSlice = TimeSpan.FromSeconds(logSeconds);
Directory.CreateDirectory(root);
try
{
    Console.WriteLine($"StorageBench: {Environment.ProcessorCount} cores, .NET {Environment.Version}, directory {root}");
    Console.WriteLine($"each figure: {rounds} rounds of {logSlice.TotalSeconds:0.0} s (log) interleaved with {rawSlice.TotalSeconds:0.0} s (raw 4 KiB write + fdatasync)");
    using var raw = new RawDisk(Path.Combine(root, "raw.dat"), 64L * 1024 * 1024);
    raw.Run(TimeSpan.FromSeconds(0.2)); // warm up
    var configs = new List<(string Name, StorageOptions Options, int EntryBytes, int Batch)>();
    foreach (var size in new[] { 100, 1024 })
        foreach (var batch in new[] { 1, 16, 256 })
            configs.Add(("preallocated", StorageOptions.Default, size, batch));
    // For comparison: segments that grow with each append instead of being zero-filled up front.
    configs.Add(("growing", StorageOptions.Default with { PreallocateSegments = false }, 100, 1));
    configs.Add(("growing", StorageOptions.Default with { PreallocateSegments = false }, 1024, 256));

    Console.WriteLine();
    Console.WriteLine("entry B  batch  segments      entries/s     payload MB/s  syncs/s   raw syncs/s  log/raw");
    Console.WriteLine("-------  -----  ------------  ------------  ------------  --------  -----------  -------");
    long rawTotal = 0;
    var rawTime = TimeSpan.Zero;
    double? ratioBatch1 = null;
    double? rate256 = null;
    var i = 0;
    foreach (var (name, options, entryBytes, batch) in configs)
    {
        using var run = new LogRun(Path.Combine(root, $"log{i++}"), options, entryBytes, batch);
        long rawSyncs = 0;
        var rawElapsed = TimeSpan.Zero;
        for (var r = 0; r < rounds; r++)
        {
            var (n, t) = raw.Run(rawSlice);
            rawSyncs += n;
            rawElapsed += t;
            run.Run(logSlice);
        }
        rawTotal += rawSyncs;
        rawTime += rawElapsed;
        var rawRate = rawSyncs / rawElapsed.TotalSeconds;
        var entriesPerSecond = run.Entries / run.Elapsed.TotalSeconds;
        var syncsPerSecond = run.Batches / run.Elapsed.TotalSeconds;
        var mbPerSecond = entriesPerSecond * entryBytes / 1e6;
        Console.WriteLine(string.Create(culture,
            $"{entryBytes,7}  {batch,5}  {name,-12}  {entriesPerSecond,12:N0}  {mbPerSecond,12:N1}  {syncsPerSecond,8:N0}  {rawRate,11:N0}  {syncsPerSecond / rawRate,6:P0}"));
        if (name == "preallocated" && entryBytes == 100 && batch == 1) ratioBatch1 = syncsPerSecond / rawRate;
        if (name == "preallocated" && entryBytes == 100 && batch == 256) rate256 = entriesPerSecond;
    }
    Console.WriteLine();
    Console.WriteLine(string.Create(culture, $"raw disk: {rawTotal / rawTime.TotalSeconds:N0} fsyncs/s (4 KiB write + fdatasync, all rounds)"));
    Console.WriteLine(string.Create(culture, $"log batch-1 sync rate / raw sync rate (100 B, same rounds): {ratioBatch1:P1}   goal >= 90%: {(ratioBatch1 >= 0.9 ? "met" : "NOT met")}"));
    Console.WriteLine(string.Create(culture, $"100 B entries at batch 256: {rate256:N0} entries/s   goal > 200,000: {(rate256 > 200_000 ? "met" : "NOT met")}"));
}
finally
{
    try
    {
        Directory.Delete(root, recursive: true);
    }
    catch (IOException)
    {
        // A leftover temp directory is harmless.
    }
}
