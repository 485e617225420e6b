namespace RaftKv.Raft.Testing;

/// <summary>The last lines of what happened in a simulation (bounded), printed when a check fails.</summary>
public sealed class Trace(int capacityLines = 400)
{
    private readonly Queue<string> _lines = new();

    /// <summary>Lines added in total.</summary>
    public long Written { get; private set; }

    /// <summary>Print each line to the console as it is added.</summary>
    public bool Echo { get; set; }

    /// <summary>Adds a line stamped with <paramref name="tick"/>, dropping the oldest beyond the capacity.</summary>
    public void Add(long tick, string line)
    {
        var text = $"[t={tick}] {line}";
        if (Echo) Console.WriteLine(text);
        if (_lines.Count == capacityLines) _lines.Dequeue();
        _lines.Enqueue(text);
        Written++;
    }

    /// <summary>The lines kept.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>The kept lines, saying how many earlier ones were dropped.</summary>
    public override string ToString() =>
        (Written > _lines.Count ? $"... ({Written - _lines.Count} earlier lines omitted)\n" : "") + string.Join('\n', _lines);
}
