namespace RaftKv.Kv;

/// <summary>
/// How much one chunk of a <see cref="RangeStreamReader"/> may hold and how long one read may walk: each chunk is
/// one short read of the store, so these bound both the memory a chunk takes and how long it holds the store.
/// </summary>
/// <param name="KeysMax">Most key-value pairs in one chunk.</param>
/// <param name="BytesMax">
/// Most bytes of keys and values (plus a fixed overhead per pair) in one chunk; a single pair larger than this still
/// travels, alone.
/// </param>
/// <param name="VisitsMax">
/// Most keys one read visits, those left out by the revision filters or only counted (after the limit) included, so
/// a chunk's read stays short even when almost nothing in it is returned.
/// </param>
public readonly record struct RangeChunkLimits(int KeysMax, long BytesMax, int VisitsMax)
{
    /// <summary>
    /// 4,096 pairs, 1 MiB, 16,384 keys visited: a chunk stays well below gRPC's default 4 MiB message limit (a pair is
    /// at most one request of 1.5 MiB) and one read walks a few milliseconds of keys.
    /// </summary>
    public static RangeChunkLimits Default { get; } = new(4096, 1 << 20, 16_384);

    /// <summary>Bytes counted per pair besides its key and value: the revisions, version, lease and framing.</summary>
    public const int PairOverheadBytes = 32;

    /// <summary>Throws when a limit is not positive, or fewer keys may be visited than returned.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(KeysMax);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BytesMax);
        ArgumentOutOfRangeException.ThrowIfLessThan(VisitsMax, KeysMax);
    }
}
