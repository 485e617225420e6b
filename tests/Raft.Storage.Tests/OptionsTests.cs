using RaftKv.Raft.Storage.Tests.Support;

namespace RaftKv.Raft.Storage.Tests;

public sealed class OptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        StorageOptions.Default.Validate();
        Assert.Equal(64L * 1024 * 1024, StorageOptions.Default.SegmentSizeBytes);
        Assert.True(StorageOptions.Default.PreallocateSegments);
    }

    [Theory]
    [InlineData(nameof(StorageOptions.SegmentSizeBytes))]
    [InlineData(nameof(StorageOptions.MaxRecordSizeBytes))]
    [InlineData(nameof(StorageOptions.WriteBufferSizeBytes))]
    [InlineData(nameof(StorageOptions.MaxSnapshotSizeBytes))]
    [InlineData(nameof(StorageOptions.SnapshotsToRetain))]
    public void Each_limit_is_checked_and_named(string setting)
    {
        var bad = setting switch
        {
            nameof(StorageOptions.SegmentSizeBytes) => StorageOptions.Default with { SegmentSizeBytes = 1000 },
            nameof(StorageOptions.MaxRecordSizeBytes) => StorageOptions.Default with { SegmentSizeBytes = 8192, MaxRecordSizeBytes = 8192 },
            nameof(StorageOptions.WriteBufferSizeBytes) => StorageOptions.Default with { WriteBufferSizeBytes = 10 },
            nameof(StorageOptions.MaxSnapshotSizeBytes) => StorageOptions.Default with { MaxSnapshotSizeBytes = -1 },
            _ => StorageOptions.Default with { SnapshotsToRetain = 0 },
        };
        var e = Assert.Throws<ArgumentException>(bad.Validate);
        Assert.Equal(setting, e.ParamName);
        using var dir = new TempDirectory();
        Assert.Throws<ArgumentException>(() => DurableStorage.Open(dir.Path, bad));
    }
}
