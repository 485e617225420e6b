using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Logs;

/// <summary>
/// Where the completed writes of a history sit in the committed log, for <see cref="IndeterminateWrites"/>: a
/// completed write returned after its entry was applied, and entries apply in index order, so an entry below it was
/// applied by its return and an operation called after its return can only be committed above it.
/// </summary>
internal sealed class Placement
{
    private readonly IReadOnlyList<CommittedLog> _logs;
    private readonly ulong _maxCommit;
    // By index ascending, with the earliest return at or above each position.
    private readonly (ulong Index, long EarliestReturnFromHere)[] _byIndex;
    // By return time ascending, with the highest index returned by then.
    private readonly (long ReturnTime, ulong HighestIndexSoFar)[] _byReturn;

    public Placement(IReadOnlyList<KvOperation> history, IReadOnlyList<CommittedLog> logs)
    {
        _logs = logs;
        _maxCommit = logs.Count == 0 ? 0 : logs.Max(l => l.CommitIndex);
        var located = history
            .Where(o => o.IsCompleted && o.Input.Value is not null)
            .Select(o => (Op: o, Entry: IndeterminateWrites.Committed(o, logs)))
            .Where(x => x.Entry is not null)
            .Select(x => (x.Entry!.Index, x.Op.ReturnTime))
            .ToArray();
        _byIndex = located.OrderBy(x => x.Index).Select(x => (x.Index, x.ReturnTime)).ToArray();
        for (var i = _byIndex.Length - 2; i >= 0; i--)
            _byIndex[i].EarliestReturnFromHere = Math.Min(_byIndex[i].EarliestReturnFromHere, _byIndex[i + 1].EarliestReturnFromHere);
        _byReturn = located.OrderBy(x => x.ReturnTime).Select(x => (x.ReturnTime, x.Index)).ToArray();
        for (var i = 1; i < _byReturn.Length; i++)
            _byReturn[i].HighestIndexSoFar = Math.Max(_byReturn[i].HighestIndexSoFar, _byReturn[i - 1].HighestIndexSoFar);
    }

    /// <summary>The earliest return of a completed write whose entry is above <paramref name="index"/>; <see cref="long.MaxValue"/> when none is.</summary>
    public long AppliedBy(ulong index)
    {
        var lo = 0;
        var hi = _byIndex.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (_byIndex[mid].Index > index) hi = mid;
            else lo = mid + 1;
        }
        return lo < _byIndex.Length ? _byIndex[lo].EarliestReturnFromHere : long.MaxValue;
    }

    /// <summary>The highest index of a completed write that returned before <paramref name="op"/> was called (0 when none did): its entry is above.</summary>
    public ulong Floor(KvOperation op)
    {
        var lo = 0;
        var hi = _byReturn.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (_byReturn[mid].ReturnTime < op.CallTime) lo = mid + 1;
            else hi = mid;
        }
        return lo == 0 ? 0 : _byReturn[lo - 1].HighestIndexSoFar;
    }

    /// <summary>
    /// A log with the highest commit index of all that starts at or before the first index <paramref name="op"/>
    /// could have been committed at (see <see cref="IndeterminateWrites"/>), or null when none does.
    /// </summary>
    public CommittedLog? Covering(KvOperation op)
    {
        var floor = Floor(op);
        return _logs.FirstOrDefault(l => l.CommitIndex >= _maxCommit && l.SnapshotIndex <= floor);
    }
}
