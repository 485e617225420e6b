using Grpc.Core;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Cli.Bench;

/// <summary>
/// fsync: one 4 KiB write plus fdatasync into a scratch file zero-filled up front (like a preallocated log
/// segment, so the sync flushes data, not file-size metadata). The ceiling for any log that syncs every write;
/// a server beats it only by batching several writes into one sync. The file is deleted on dispose.
/// </summary>
public sealed class FsyncOperation : IBenchOperation, IDisposable
{
    private const long FileBytes = 16L * 1024 * 1024;

    private readonly RawDiskProbe _probe;

    /// <summary>Creates and zero-fills the scratch file in <paramref name="directory"/>.</summary>
    public FsyncOperation(string directory)
    {
        Directory.CreateDirectory(directory);
        _probe = new RawDiskProbe(Path.Combine(directory, $"raftkv-bench-fsync-{Environment.ProcessId}.tmp"), FileBytes, deleteOnDispose: true);
    }

    /// <inheritdoc />
    public Task ExecuteAsync(BenchClient client, long sequence, CallOptions options)
    {
        // Synchronous on purpose: one writer, and a thread hop per write would add to what is measured.
        _probe.WriteAndSync();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose() => _probe.Dispose();
}
