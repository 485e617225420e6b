namespace RaftKv.Kv.Mvcc;

/// <summary>
/// The one length check of the cluster record (<see cref="IMvccView.ClusterRecord"/>), made wherever a record enters
/// the state: from the server (<see cref="KvStore.SetClusterRecordIfNew"/>), from an engine's apply, and from a
/// snapshot or the disk as each reader sees fit (they report damage their own way).
/// </summary>
internal static class ClusterRecordLength
{
    /// <summary>Whether a record of <paramref name="lengthBytes"/> fits <see cref="KvStore.ClusterRecordMaxBytes"/>.</summary>
    public static bool Fits(int lengthBytes) => lengthBytes >= 0 && lengthBytes <= KvStore.ClusterRecordMaxBytes;

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="paramName"/> when the record does not fit.</summary>
    public static void ThrowIfTooLong(int lengthBytes, string paramName)
    {
        if (!Fits(lengthBytes))
        {
            throw new ArgumentException(
                $"a cluster record of {lengthBytes} bytes is longer than the {KvStore.ClusterRecordMaxBytes} bytes allowed", paramName);
        }
    }
}
