namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>Options small enough that a few dozen entries span many segments.</summary>
public static class TestOptions
{
    public static StorageOptions Small(bool preallocate = true) => new()
    {
        SegmentSizeBytes = 4096,
        MaxRecordSizeBytes = 2048,
        WriteBufferSizeBytes = 4096,
        MaxSnapshotSizeBytes = 1024 * 1024,
        PreallocateSegments = preallocate,
    };
}
