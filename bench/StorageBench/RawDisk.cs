using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RaftKv.Bench.Storage;

/// <summary>
/// The disk's own rate: a loop of one 4 KiB write and one fdatasync, into a file zero-filled up front (the same
/// conditions the log's preallocated segments give it). The ceiling for any log that syncs each batch.
/// </summary>
internal sealed partial class RawDisk : IDisposable
{
    private const int BlockBytes = 4096;
    private readonly SafeFileHandle _handle;
    private readonly long _sizeBytes;
    private readonly byte[] _block = new byte[BlockBytes];
    private long _offset;

    public RawDisk(string path, long sizeBytes)
    {
        _sizeBytes = sizeBytes;
        _handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        var zeros = new byte[1024 * 1024];
        for (long off = 0; off < sizeBytes; off += zeros.Length) RandomAccess.Write(_handle, zeros, off);
        DataSync();
        new Random(1).NextBytes(_block);
    }

    /// <summary>Runs the loop for about <paramref name="duration"/>; returns (syncs, elapsed).</summary>
    public (long Syncs, TimeSpan Elapsed) Run(TimeSpan duration)
    {
        long n = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            if (_offset + BlockBytes > _sizeBytes) _offset = 0;
            RandomAccess.Write(_handle, _block, _offset);
            _offset += BlockBytes;
            DataSync();
            n++;
        }
        return (n, sw.Elapsed);
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

    public void Dispose() => _handle.Dispose();
}
