using System.Diagnostics;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Bench.Storage;

/// <summary>The raw disk loop (<see cref="RawDiskProbe"/>) run for a while, interleaved with the log's rounds.</summary>
internal sealed class RawDisk(string path, long sizeBytes) : IDisposable
{
    private readonly RawDiskProbe _probe = new(path, sizeBytes, deleteOnDispose: false);

    /// <summary>Runs the loop for about <paramref name="duration"/>; returns (syncs, elapsed).</summary>
    public (long Syncs, TimeSpan Elapsed) Run(TimeSpan duration)
    {
        long n = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            _probe.WriteAndSync();
            n++;
        }
        return (n, sw.Elapsed);
    }

    public void Dispose() => _probe.Dispose();
}
