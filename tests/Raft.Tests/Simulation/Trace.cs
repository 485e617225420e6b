namespace RaftKv.Raft.Tests.Simulation;

/// <summary>The last lines of what happened in a simulation (bounded), printed when a check fails.</summary>
public sealed class Trace(int capacityLines = 400)
{
    private readonly Queue<string> _lines = new();

    public long Written { get; private set; }

    public bool Echo { get; set; }

    public void Add(long tick, string line)
    {
        var text = $"[t={tick}] {line}";
        if (Echo) Console.WriteLine(text);
        if (_lines.Count == capacityLines) _lines.Dequeue();
        _lines.Enqueue(text);
        Written++;
    }

    public IReadOnlyCollection<string> Lines => _lines;

    public override string ToString() =>
        (Written > _lines.Count ? $"... ({Written - _lines.Count} earlier lines omitted)\n" : "") + string.Join('\n', _lines);
}
