using System.Runtime.InteropServices;
using Grpc.Core;
using Microsoft.Win32.SafeHandles;

namespace RaftKv.Cli.Bench;

/// <summary>
/// fsync: one 4 KiB write plus fdatasync into a scratch file zero-filled up front (like a preallocated log
/// segment, so the sync flushes data, not file-size metadata). The ceiling for any log that syncs every write;
/// a server beats it only by batching several writes into one sync. The file is deleted on dispose.
/// </summary>
public sealed partial class FsyncOperation : IBenchOperation, IDisposable
{
    private const int BlockBytes = 4096;
    private const long FileBytes = 16L * 1024 * 1024;

    private readonly string _path;
    private readonly SafeFileHandle _handle;
    private readonly byte[] _block = new byte[BlockBytes];
    private long _offsetBytes;

    /// <summary>Creates and zero-fills the scratch file in <paramref name="directory"/>.</summary>
    public FsyncOperation(string directory)
    {
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, $"raftkv-bench-fsync-{Environment.ProcessId}.tmp");
        _handle = File.OpenHandle(_path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        var zeros = new byte[1024 * 1024];
        for (long off = 0; off < FileBytes; off += zeros.Length) RandomAccess.Write(_handle, zeros, off);
        DataSync();
        new Random(3).NextBytes(_block);
    }

    /// <inheritdoc />
    public Task ExecuteAsync(BenchClient client, long sequence, CallOptions options)
    {
        // Synchronous on purpose: one writer, and a thread hop per write would add to what is measured.
        if (_offsetBytes + BlockBytes > FileBytes) _offsetBytes = 0;
        RandomAccess.Write(_handle, _block, _offsetBytes);
        _offsetBytes += BlockBytes;
        DataSync();
        return Task.CompletedTask;
    }

    private void DataSync()
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(_handle);
            return;
        }
        if (fdatasync((int)_handle.DangerousGetHandle()) != 0) throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    /// <inheritdoc />
    public void Dispose()
    {
        _handle.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
    }
}
