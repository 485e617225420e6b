using System.Diagnostics;
using RaftKv.Raft;

// Proposals through a 3-node in-memory cluster (no disk, no network): what the pure core costs per entry.
// Usage: dotnet run -c Release --project bench/RaftBench [-- --seconds N]
var secondsPerRun = args.Length == 2 && args[0] == "--seconds" ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3.0;
const int PayloadBytes = 100;
const long MaxEntriesPerRun = 5_000_000;

Console.WriteLine($"raft core: 3 nodes in memory, {PayloadBytes}-byte entries, {secondsPerRun:F0} s per row");
Console.WriteLine($"{"batch",6} {"entries/s",12} {"MB/s",8} {"alloc B/entry",14} {"Readies/entry",14}");
foreach (var batch in new[] { 1, 16, 256 })
{
    var (rate, allocPerEntry, readiesPerEntry) = Run(batch, secondsPerRun);
    Console.WriteLine($"{batch,6} {rate,12:N0} {rate * PayloadBytes / 1e6,8:F1} {allocPerEntry,14:F0} {readiesPerEntry,14:F2}");
}

static (double Rate, double AllocPerEntry, double ReadiesPerEntry) Run(int batch, double seconds)
{
    var storages = new[] { new MemoryStorage(), new MemoryStorage(), new MemoryStorage() };
    var nodes = new RaftNode[3];
    for (var i = 0; i < 3; i++)
    {
        nodes[i] = new RaftNode(new RaftConfig { Id = (ulong)i + 1, Voters = [1, 2, 3] }, storages[i], new Random(i));
    }
    var inbox = new Queue<Message>();
    long applied = 0, readies = 0;

    void Pump()
    {
        // Bounded: each round either handles a Ready or delivers a message; a quiet cluster ends the loop.
        for (var round = 0; round < 1_000_000; round++)
        {
            var any = false;
            for (var i = 0; i < 3; i++)
            {
                var node = nodes[i];
                if (!node.HasReady) continue;
                any = true;
                readies++;
                var rd = node.GetReady();
                if (rd.Snapshot is not null) storages[i].ApplySnapshot(rd.Snapshot);
                storages[i].Append(rd.Entries);
                if (rd.HardState is { } hs) storages[i].SetHardState(hs);
                foreach (var m in rd.Messages) inbox.Enqueue(m);
                if (i == 0) applied += rd.CommittedEntries.Count;
                node.Advance();
            }
            while (inbox.TryDequeue(out var m))
            {
                any = true;
                nodes[(int)m.To - 1].Step(m);
            }
            if (!any) return;
        }
        throw new InvalidOperationException("cluster did not settle");
    }

    nodes[0].Campaign();
    Pump();
    if (nodes[0].Role != RaftRole.Leader) throw new InvalidOperationException("node 1 did not become leader");
    var payload = new byte[PayloadBytes];
    var proposals = new ReadOnlyMemory<byte>[batch];
    for (var i = 0; i < batch; i++) proposals[i] = payload;

    applied = 0;
    readies = 0;
    long proposed = 0;
    var allocBefore = GC.GetAllocatedBytesForCurrentThread();
    var stopwatch = Stopwatch.StartNew();
    var compactEvery = 100_000L;
    var nextCompact = compactEvery;
    while (stopwatch.Elapsed.TotalSeconds < seconds && proposed < MaxEntriesPerRun)
    {
        var result = nodes[0].Propose(proposals);
        if (!result.IsAccepted) throw new InvalidOperationException($"proposal refused: {result.Status}");
        proposed += batch;
        Pump();
        if (applied >= nextCompact)
        {
            // Keep memory bounded the way a host would: snapshot and compact what every node applied.
            foreach (var (node, storage) in nodes.Zip(storages)) storage.Compact(node.AppliedIndex);
            nextCompact += compactEvery;
        }
    }
    stopwatch.Stop();
    var alloc = GC.GetAllocatedBytesForCurrentThread() - allocBefore;
    return (applied / stopwatch.Elapsed.TotalSeconds, (double)alloc / applied, (double)readies / applied);
}
