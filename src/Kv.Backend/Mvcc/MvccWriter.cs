namespace RaftKv.Kv.Backend.Mvcc;

/// <summary>Adds MVCC records to a batch; the batch is committed with its applied index by <see cref="KvBackend.Commit"/>.</summary>
public static class MvccWriter
{
    /// <summary>Writes one version of <paramref name="key"/> and its entry in the revision-ordered history.</summary>
    public static void Write(BackendBatch batch, ReadOnlySpan<byte> key, in StoredVersion version)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Put(VersionKey.Encode(key, version.Main, version.Sub), VersionRecord.Encode(version));
        batch.Put(ChangeKey.Encode(version.Main, version.Sub), key);
    }
}
