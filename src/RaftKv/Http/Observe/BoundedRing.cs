namespace RaftKv.Http.Observe;

/// <summary>The last <c>capacity</c> items added, oldest first; thread-safe, O(1) per add.</summary>
internal sealed class BoundedRing<T>(int capacity)
{
    private readonly T[] _items = new T[capacity];
    private readonly Lock _gate = new();
    private long _added;

    /// <summary>Items ever added.</summary>
    public long Added
    {
        get
        {
            lock (_gate) return _added;
        }
    }

    public void Add(T item)
    {
        lock (_gate)
        {
            _items[_added % _items.Length] = item;
            _added++;
        }
    }

    /// <summary>Up to <paramref name="max"/> of the newest items, oldest first.</summary>
    public T[] Snapshot(int max = int.MaxValue)
    {
        lock (_gate)
        {
            var count = (int)Math.Min(Math.Min(_added, _items.Length), max);
            var result = new T[count];
            for (var i = 0; i < count; i++) result[i] = _items[(_added - count + i) % _items.Length];
            return result;
        }
    }
}
