namespace RaftKv.Raft;

/// <summary>
/// Entries and a snapshot that the node has accepted but the host has not yet persisted. They move to storage
/// when the host handles a <see cref="Ready"/> and calls <see cref="RaftNode.Advance"/>.
/// </summary>
internal sealed class Unstable
{
    private readonly List<Entry> _entries = [];

    /// <summary>Index of the first unstable entry (where the next one goes when there are none).</summary>
    // Invariant: Offset == storage.LastIndex + 1 when there is no pending snapshot, or snapshot.Index + 1.
    public ulong Offset { get; private set; }

    public Snapshot? Snapshot { get; private set; }

    public IReadOnlyList<Entry> Entries => _entries;

    public Unstable(ulong offset) => Offset = offset;

    public ulong? MaybeFirstIndex => Snapshot is null ? null : Snapshot.Index + 1;

    public ulong? MaybeLastIndex => _entries.Count > 0 ? Offset + (ulong)_entries.Count - 1 : Snapshot?.Index;

    public bool TryTerm(ulong index, out ulong term)
    {
        term = 0;
        if (index < Offset)
        {
            if (Snapshot is not null && Snapshot.Index == index)
            {
                term = Snapshot.Term;
                return true;
            }
            return false;
        }
        var last = MaybeLastIndex;
        if (last is null || index > last.Value) return false;
        if (_entries.Count == 0) return false;
        term = _entries[(int)(index - Offset)].Term;
        return true;
    }

    /// <summary>Entries up to (index, term) are now in storage; forget them unless they were replaced meanwhile.</summary>
    public void StableTo(ulong index, ulong term)
    {
        if (!TryTerm(index, out var t) || t != term || index < Offset) return;
        var n = (int)(index + 1 - Offset);
        _entries.RemoveRange(0, n);
        Offset = index + 1;
    }

    public void StableSnapTo(ulong index)
    {
        if (Snapshot is not null && Snapshot.Index == index) Snapshot = null;
    }

    public void Restore(Snapshot snapshot)
    {
        Offset = snapshot.Index + 1;
        _entries.Clear();
        Snapshot = snapshot;
    }

    /// <summary>Appends entries, dropping any unstable suffix they replace (the conflicting tail of an old leader).</summary>
    public void TruncateAndAppend(IReadOnlyList<Entry> entries, int start)
    {
        var after = entries[start].Index;
        var end = Offset + (ulong)_entries.Count;
        if (after == end)
        {
            // Common case: directly after what we hold.
        }
        else if (after <= Offset)
        {
            // Replaces everything unstable, and (once persisted) storage from 'after' on.
            Offset = after;
            _entries.Clear();
        }
        else
        {
            RaftInvariantException.Assert(after < end, $"unstable append at {after} leaves a gap after {end - 1}");
            _entries.RemoveRange((int)(after - Offset), (int)(end - after));
        }
        for (var i = start; i < entries.Count; i++) _entries.Add(entries[i]);
    }

    /// <summary>Adds entries [low, high) to <paramref name="into"/>; the caller checked the bounds.</summary>
    public void Slice(ulong low, ulong high, List<Entry> into)
    {
        RaftInvariantException.Assert(low >= Offset && low <= high && high <= Offset + (ulong)_entries.Count,
            $"unstable slice [{low},{high}) outside [{Offset},{Offset + (ulong)_entries.Count})");
        for (var i = low; i < high; i++) into.Add(_entries[(int)(i - Offset)]);
    }
}
