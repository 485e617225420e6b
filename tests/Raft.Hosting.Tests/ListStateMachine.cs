namespace RaftKv.Raft.Hosting.Tests;

/// <summary>A replicated list of strings: the result of applying an entry is its position.</summary>
public sealed class ListStateMachine : IStateMachine
{
    private readonly List<string> _items = [];

    public IReadOnlyList<string> Items
    {
        get
        {
            lock (_items) return _items.ToArray();
        }
    }

    public object? Apply(in Entry entry)
    {
        if (entry.Data.IsEmpty) return null;
        lock (_items)
        {
            _items.Add(System.Text.Encoding.UTF8.GetString(entry.Data.Span));
            return _items.Count;
        }
    }

    /// <summary>While reset, writing a captured snapshot blocks (tests of snapshots made off the loop). Set by default.</summary>
    public ManualResetEventSlim SnapshotWrites { get; } = new(initialState: true);

    /// <summary>How many captured snapshots are blocked in <see cref="SnapshotWrites"/> now.</summary>
    public int BlockedSnapshotWrites => Volatile.Read(ref _blockedWrites);

    private int _blockedWrites;

    /// <summary>How many of the next snapshot writes fail (a state machine or disk failing while the bytes are written).</summary>
    public int FailingSnapshotWrites;

    public IStateMachineSnapshot CaptureSnapshot()
    {
        lock (_items) return new Capture(this, _items.ToArray());
    }

    private sealed class Capture(ListStateMachine owner, string[] items) : IStateMachineSnapshot
    {
        public long SizeHintBytes => items.Sum(i => i.Length + 1);

        public void WriteTo(Stream destination)
        {
            Interlocked.Increment(ref owner._blockedWrites);
            try
            {
                if (!owner.SnapshotWrites.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("snapshot writes held for 30 s");
            }
            finally
            {
                Interlocked.Decrement(ref owner._blockedWrites);
            }
            if (Interlocked.Decrement(ref owner.FailingSnapshotWrites) >= 0) throw new IOException("injected snapshot write failure");
            destination.Write(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', items)));
        }
    }

    public void Restore(ReadOnlyMemory<byte> snapshot)
    {
        lock (_items)
        {
            _items.Clear();
            var text = System.Text.Encoding.UTF8.GetString(snapshot.Span);
            if (text.Length > 0) _items.AddRange(text.Split('\n'));
        }
    }
}
