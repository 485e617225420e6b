namespace RaftKv.Raft.Hosting;

/// <summary>
/// The callers waiting for their proposals, by log index and the term they were proposed in (loop-thread only).
/// A proposal is resolved when its index is applied: with the state machine's result if the entry there is from the
/// same term (it is the proposal), otherwise with <see cref="ProposalDroppedException"/> (another leader's entry
/// took the index). Every caller is answered exactly once.
/// </summary>
internal sealed class PendingProposals
{
    private readonly Dictionary<ulong, (ulong Term, TaskCompletionSource<object?> Completion)> _waiting = [];

    public int Count => _waiting.Count;

    /// <summary>
    /// Records a proposal appended at <paramref name="index"/> in <paramref name="term"/>. A proposal of an earlier
    /// term still waiting there was overwritten before this node applied the index: it is failed now, or its caller
    /// would wait for a result that never comes.
    /// </summary>
    public void Add(ulong index, ulong term, TaskCompletionSource<object?> completion)
    {
        if (_waiting.Remove(index, out var overwritten))
        {
            RaftInvariantException.Assert(overwritten.Term < term, $"index {index} proposed twice in term {term}");
            overwritten.Completion.TrySetException(new ProposalDroppedException($"leadership changed; index {index} holds another entry"));
        }
        _waiting[index] = (term, completion);
    }

    /// <summary>Answers the proposal at <paramref name="entry"/>'s index, if this node made one.</summary>
    public void Applied(in Entry entry, object? result)
    {
        if (!_waiting.Remove(entry.Index, out var pending)) return;
        if (pending.Term == entry.Term) pending.Completion.TrySetResult(result);
        else pending.Completion.TrySetException(new ProposalDroppedException($"leadership changed; index {entry.Index} holds another entry"));
    }

    /// <summary>Fails the proposals at or below <paramref name="index"/>: a snapshot replaced them, their outcome is unknown.</summary>
    public void FailUpTo(ulong index)
    {
        foreach (var key in _waiting.Keys.Where(k => k <= index).ToArray())
        {
            _waiting.Remove(key, out var p);
            p.Completion.TrySetException(new ProposalDroppedException("replaced by a snapshot from the leader; outcome unknown"));
        }
    }

    /// <summary>Fails every waiting proposal with <paramref name="error"/> (the node stopped).</summary>
    public void FailAll(Exception error)
    {
        foreach (var (_, p) in _waiting) p.Completion.TrySetException(error);
        _waiting.Clear();
    }
}
