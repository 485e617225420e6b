namespace RaftKv.Kv.Backend.Mvcc;

/// <summary>Adds MVCC records to a batch; the batch is committed with its applied index by <see cref="KvBackend.Commit"/>.</summary>
public static class MvccWriter
{
    /// <summary>Operations <see cref="Write"/> adds to a batch.</summary>
    public const int OperationsPerVersion = 3;

    /// <summary>
    /// Writes one version of <paramref name="key"/>, its entry in the revision-ordered history, and the key's pointer
    /// to its newest version (this one: versions are written in revision order).
    /// </summary>
    public static void Write(BackendBatch batch, ReadOnlySpan<byte> key, in StoredVersion version)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Put(VersionKey.Encode(key, version.Main, version.Sub), VersionRecord.Encode(version));
        batch.Put(ChangeKey.Encode(version.Main, version.Sub), key);
        batch.Put(LatestKey.Encode(key), LatestKey.EncodeValue(version.Main, version.Sub));
    }
}
