using System.Diagnostics;
using RaftKv.Raft;
using RaftKv.Raft.Storage;

namespace RaftKv.Bench.Storage;

/// <summary>
/// Appends batches of entries to a <see cref="DurableStorage"/> the way a leader persists a Ready: entries plus a hard
/// state, one sync per batch. Compacts now and then (outside the timed part) so memory stays bounded.
/// </summary>
internal sealed class LogRun : IDisposable
{
    private const ulong CompactEveryEntries = 200_000;
    private static readonly ConfState Voters = new([1, 2, 3]);
    private readonly DurableStorage _storage;
    private readonly Entry[] _batch;
    private readonly byte[] _payload;
    private ulong _next = 1;
    private ulong _lastCompact;

    public LogRun(string directory, StorageOptions options, int entryBytes, int batchSize)
    {
        EntryBytes = entryBytes;
        BatchSize = batchSize;
        _storage = DurableStorage.Open(directory, options);
        _batch = new Entry[batchSize];
        _payload = new byte[entryBytes];
        new Random(2).NextBytes(_payload);
    }

    public int EntryBytes { get; }

    public int BatchSize { get; }

    public long Entries { get; private set; }

    public long Batches { get; private set; }

    public TimeSpan Elapsed { get; private set; }

    public void Run(TimeSpan duration)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            for (var i = 0; i < _batch.Length; i++) _batch[i] = new Entry(_next + (ulong)i, 1, EntryType.Normal, _payload);
            _storage.Save(new HardState(1, 1, _next - 1), _batch, null, mustSync: true);
            _next += (ulong)_batch.Length;
            Entries += _batch.Length;
            Batches++;
            var committed = _next - 1 - (ulong)_batch.Length; // the commit index the last save persisted
            if (committed - _lastCompact >= CompactEveryEntries)
            {
                sw.Stop();
                _lastCompact = committed;
                _storage.CreateSnapshot(_lastCompact, Voters, new byte[16]);
                sw.Start();
            }
        }
        Elapsed += sw.Elapsed;
    }

    public void Dispose() => _storage.Dispose();
}
