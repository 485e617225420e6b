namespace RaftKv.Raft.Tracking;

/// <summary>
/// The append messages in flight to one follower: a bounded ring of (last index, bytes) in send order. The leader
/// stops sending when it is full, which is what bounds pipelining.
/// </summary>
internal sealed class Inflights
{
    private readonly (ulong Index, long Bytes)[] _ring;
    private readonly long _maxBytes;
    private int _start;

    public Inflights(int maxCount, long maxBytes)
    {
        RaftInvariantException.Assert(maxCount > 0, "inflight capacity must be positive");
        _ring = new (ulong, long)[maxCount];
        _maxBytes = maxBytes;
    }

    /// <summary>Messages in flight.</summary>
    public int Count { get; private set; }

    /// <summary>Entry bytes in flight.</summary>
    public long Bytes { get; private set; }

    public bool Full => Count == _ring.Length || (_maxBytes > 0 && Bytes >= _maxBytes);

    /// <summary>Records a sent message whose last entry is <paramref name="index"/>. Indexes must increase.</summary>
    public void Add(ulong index, long bytes)
    {
        RaftInvariantException.Assert(!Full, "cannot add to full inflights");
        if (Count > 0)
        {
            var last = _ring[(_start + Count - 1) % _ring.Length].Index;
            RaftInvariantException.Assert(index > last, $"inflight index {index} does not increase past {last}");
        }
        _ring[(_start + Count) % _ring.Length] = (index, bytes);
        Count++;
        Bytes += bytes;
    }

    /// <summary>Frees every message whose last index is &lt;= <paramref name="index"/> (acknowledged).</summary>
    public void FreeLE(ulong index)
    {
        while (Count > 0)
        {
            ref var head = ref _ring[_start];
            if (head.Index > index) break;
            Bytes -= head.Bytes;
            head = default;
            _start = (_start + 1) % _ring.Length;
            Count--;
        }
        if (Count == 0) _start = 0;
    }

    public void Reset()
    {
        Array.Clear(_ring);
        _start = 0;
        Count = 0;
        Bytes = 0;
    }
}
