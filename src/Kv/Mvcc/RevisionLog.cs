namespace RaftKv.Kv.Mvcc;

/// <summary>One change in revision order: which key changed at (Main, Sub).</summary>
internal readonly record struct LogEntry(long Main, int Sub, KeyHistory History);

/// <summary>
/// Every change at or after the compaction revision, in revision order. Compaction walks it to find the keys
/// with history to drop (instead of visiting every key), and watchers replay history from it.
/// </summary>
internal sealed class RevisionLog
{
    private const int MinCapacity = 16;

    private LogEntry[] items = new LogEntry[MinCapacity];
    private int head;
    private int tail;

    public int Count => tail - head;

    public ref readonly LogEntry this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"log has {Count} entries");
            }

            return ref items[head + index];
        }
    }

    public void Append(long main, int sub, KeyHistory history)
    {
        if (tail > head)
        {
            ref readonly var last = ref items[tail - 1];
            if (main < last.Main || (main == last.Main && sub <= last.Sub))
            {
                throw new InvalidOperationException($"change ({main},{sub}) does not follow ({last.Main},{last.Sub})");
            }
        }

        if (tail == items.Length)
        {
            Reserve(Count + 1);
        }

        items[tail++] = new LogEntry(main, sub, history);
    }

    /// <summary>Index of the first entry with Main at or above <paramref name="main"/> (Count when none).</summary>
    public int FirstAtOrAfter(long main)
    {
        int lo = 0, hi = Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (items[head + mid].Main < main)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    /// <summary>Drops the entries with Main below <paramref name="main"/>.</summary>
    public void DropBefore(long main)
    {
        var drop = FirstAtOrAfter(main);
        Array.Clear(items, head, drop);
        head += drop;
        if (head == tail)
        {
            head = 0;
            tail = 0;
        }

        // Slide the live part down once the dead prefix dominates, so memory follows the live size.
        if (head > 0 && head >= Count)
        {
            Array.Copy(items, head, items, 0, Count);
            Array.Clear(items, Count, head);
            tail = Count;
            head = 0;
            if (items.Length > MinCapacity && tail * 4 < items.Length)
            {
                Array.Resize(ref items, Math.Max(MinCapacity, tail * 2));
            }
        }
    }

    private void Reserve(int needed)
    {
        if (head > 0)
        {
            Array.Copy(items, head, items, 0, Count);
            Array.Clear(items, Count, head);
            tail = Count;
            head = 0;
        }

        if (needed > items.Length)
        {
            Array.Resize(ref items, Math.Max(needed, items.Length * 2));
        }
    }
}
