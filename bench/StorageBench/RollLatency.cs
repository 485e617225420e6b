using System.Diagnostics;
using System.Globalization;
using RaftKv.Raft;
using RaftKv.Raft.Storage;

namespace RaftKv.Bench.Storage;

/// <summary>
/// Latency of single saves across segment rotations (default 64 MiB preallocated segments): the saves that rotated
/// to a new segment against all the others. Run with <c>StorageBench --roll-latency [directory] [rolls] [entry-bytes] [batch]</c>.
/// </summary>
internal static class RollLatency
{
    private const ulong CompactEveryEntries = 200_000;

    public static void Run(string directory, int rolls, int entryBytes, int batch)
    {
        var culture = CultureInfo.InvariantCulture;
        var payload = new byte[entryBytes];
        new Random(2).NextBytes(payload);
        var voters = new ConfState([1, 2, 3]);
        var entries = new Entry[batch];
        var others = new List<double>();
        var rolling = new List<double>();
        ulong next = 1;
        ulong lastCompact = 0;
        var sw = new Stopwatch();
        using (var storage = DurableStorage.Open(directory, StorageOptions.Default))
        {
            var segment = storage.SegmentPaths[^1];
            while (rolling.Count < rolls)
            {
                for (var i = 0; i < batch; i++) entries[i] = new Entry(next + (ulong)i, 1, EntryType.Normal, payload);
                sw.Restart();
                storage.Save(new HardState(1, 1, next - 1), entries, null, mustSync: true);
                sw.Stop();
                next += (ulong)batch;
                var now = storage.SegmentPaths[^1];
                (now == segment ? others : rolling).Add(sw.Elapsed.TotalMilliseconds);
                segment = now;
                var committed = next - 1 - (ulong)batch;
                if (committed - lastCompact >= CompactEveryEntries)
                {
                    lastCompact = committed;
                    storage.CreateSnapshot(lastCompact, voters, new byte[16]);
                }
            }
        }
        others.Sort();
        rolling.Sort();
        double P(List<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
        Console.WriteLine(string.Create(culture,
            $"{entryBytes} B entries, batch {batch}, {StorageOptions.Default.SegmentSizeBytes / (1024 * 1024)} MiB segments: {others.Count + rolling.Count} saves, {rolling.Count} rotations"));
        Console.WriteLine(string.Create(culture,
            $"saves that rotated:  median {P(rolling, 0.5),8:0.00} ms  max {rolling[^1],8:0.00} ms"));
        Console.WriteLine(string.Create(culture,
            $"all other saves:     median {P(others, 0.5),8:0.00} ms  p99 {P(others, 0.99):0.00} ms  p99.9 {P(others, 0.999):0.00} ms  max {others[^1]:0.00} ms"));
    }
}
