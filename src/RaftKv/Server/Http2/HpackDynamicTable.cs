namespace RaftKv.Server.Http2;

/// <summary>The HPACK dynamic table (RFC 7541 section 2.3.2, 4): newest entry first, evicted oldest first by size.</summary>
internal sealed class HpackDynamicTable
{
    /// <summary>4.1: an entry's size is its name and value lengths plus 32.</summary>
    public const int EntryOverheadBytes = 32;

    // A ring of entries. Invariant: SizeBytes == sum of entry sizes <= _maxSizeBytes; Count <= _entries.Length.
    private readonly (byte[] Name, byte[] Value)[] _entries;
    private int _newest = -1;
    private int _maxSizeBytes;

    public HpackDynamicTable(int maxSizeBytes)
    {
        _maxSizeBytes = maxSizeBytes;
        _entries = new (byte[], byte[])[maxSizeBytes / EntryOverheadBytes + 1];
    }

    public int Count { get; private set; }

    public int SizeBytes { get; private set; }

    /// <summary>The name of entry <paramref name="index"/>, 1 being the newest.</summary>
    public ReadOnlySpan<byte> Name(int index) => At(index).Name;

    public ReadOnlySpan<byte> Value(int index) => At(index).Value;

    private (byte[] Name, byte[] Value) At(int index)
    {
        if ((uint)(index - 1) >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        return _entries[(_newest - (index - 1) + _entries.Length) % _entries.Length];
    }

    /// <summary>4.4: evicts until the entry fits, then adds it; an entry larger than the table empties it and is not added.</summary>
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var size = name.Length + value.Length + EntryOverheadBytes;
        // Copy first: name may point at an entry about to be evicted.
        var entry = (name.ToArray(), value.ToArray());
        while (Count > 0 && SizeBytes + size > _maxSizeBytes) EvictOldest();
        if (size > _maxSizeBytes) return;
        _newest = (_newest + 1) % _entries.Length;
        _entries[_newest] = entry;
        Count++;
        SizeBytes += size;
    }

    /// <summary>4.3: a new maximum size, at most the one this table was created with.</summary>
    public void Resize(int maxSizeBytes)
    {
        if ((uint)maxSizeBytes > (uint)(_entries.Length * EntryOverheadBytes)) throw new ArgumentOutOfRangeException(nameof(maxSizeBytes));
        _maxSizeBytes = maxSizeBytes;
        while (SizeBytes > _maxSizeBytes) EvictOldest();
    }

    private void EvictOldest()
    {
        var oldest = (_newest - (Count - 1) + _entries.Length) % _entries.Length;
        SizeBytes -= _entries[oldest].Name.Length + _entries[oldest].Value.Length + EntryOverheadBytes;
        _entries[oldest] = default;
        Count--;
    }
}
