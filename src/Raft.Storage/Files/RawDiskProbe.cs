using Microsoft.Win32.SafeHandles;

namespace RaftKv.Raft.Storage.Files;

/// <summary>
/// The disk's own durable-write rate, the ceiling for any log that syncs each batch: one 4 KiB write plus one
/// fdatasync per step, into a file zero-filled up front (the conditions the log's preallocated segments have, so a
/// sync flushes data and not file-size metadata). Used by the benchmarks to print figures against this limit.
/// </summary>
public sealed class RawDiskProbe : IDisposable
{
    /// <summary>Bytes written per step.</summary>
    public const int BlockBytes = 4096;

    private readonly string _path;
    private readonly bool _deleteOnDispose;
    private readonly SafeFileHandle _handle;
    private readonly long _sizeBytes;
    private readonly byte[] _block = new byte[BlockBytes];
    private long _offsetBytes;

    /// <summary>Creates and zero-fills (then syncs) the file; steps wrap around within <paramref name="sizeBytes"/>.</summary>
    public RawDiskProbe(string path, long sizeBytes, bool deleteOnDispose)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeBytes, BlockBytes);
        _path = path;
        _deleteOnDispose = deleteOnDispose;
        _sizeBytes = sizeBytes;
        _handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        var zeros = new byte[1024 * 1024];
        for (long off = 0; off < sizeBytes; off += zeros.Length) RandomAccess.Write(_handle, zeros.AsSpan(0, (int)Math.Min(zeros.Length, sizeBytes - off)), off);
        NativeFile.DataSync(_handle);
        new Random(1).NextBytes(_block);
    }

    /// <summary>One durable 4 KiB write.</summary>
    public void WriteAndSync()
    {
        if (_offsetBytes + BlockBytes > _sizeBytes) _offsetBytes = 0;
        RandomAccess.Write(_handle, _block, _offsetBytes);
        _offsetBytes += BlockBytes;
        NativeFile.DataSync(_handle);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _handle.Dispose();
        if (!_deleteOnDispose) return;
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
    }
}
