using System.Security.Cryptography;

namespace RaftKv.Raft.Hosting;

public sealed partial class RaftHost
{
    // Linearizable reads (thesis section 6.4), loop-thread state. A read waits first for its read index (from the
    // core on a leader, from the leader's ReadIndexResponse on a follower), then for this node to apply that index.
    //
    // Ids are unique per incarnation of the process: a ReadIndexResponse still in flight for a previous incarnation
    // (same node, restarted) must never complete a read of this one with its older index. The generator starts at
    // a random point of the 64-bit space, so two incarnations' ids meet with negligible probability.
    //
    // The core answers a read at most once and abandons requests when leadership moves, and a forwarded request or
    // its answer may be lost in the network: every waiting read is asked again when the leader or term changes and
    // every ReadRetryInterval, and fails with ReadTimedOutException after ReadTimeout. Waiting reads are bounded by
    // MaxPendingReads.
    private readonly ReadIdGenerator _readIds = new(RandomIncarnation());
    private readonly Dictionary<ulong, PendingRead> _readsAwaitingIndex = [];
    private readonly List<(ulong Index, TaskCompletionSource Completion)> _readsAwaitingApply = [];
    private readonly List<ulong> _readScratch = [];
    private long _ticks;
    private long _readsScannedAtTick;
    private ulong _readTerm;
    private bool _readsNeedReissue;

    private sealed class PendingRead(TaskCompletionSource completion, long deadlineTick, long retryTick)
    {
        public TaskCompletionSource Completion { get; } = completion;

        /// <summary>Loop tick after which the read fails.</summary>
        public long DeadlineTick { get; } = deadlineTick;

        /// <summary>Loop tick at which the request is sent again if still unanswered.</summary>
        public long RetryTick { get; set; } = retryTick;
    }

    private static ulong RandomIncarnation()
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes);
    }

    private long TicksOf(TimeSpan duration) => Math.Max(1, (long)Math.Ceiling(duration / _options.TickInterval));

    private void StartRead(RaftNode node, ReadInput read)
    {
        if (_readsAwaitingIndex.Count + _readsAwaitingApply.Count >= _options.MaxPendingReads)
        {
            read.Completion.TrySetException(new ProposalDroppedException($"too many reads are waiting ({_options.MaxPendingReads})"));
            return;
        }

        var id = _readIds.Next();
        var status = node.ReadIndex(id);
        switch (status)
        {
            case RequestStatus.Accepted or RequestStatus.Forwarded:
                _readsAwaitingIndex[id] = new PendingRead(read.Completion, _ticks + TicksOf(_options.ReadTimeout), _ticks + TicksOf(_options.ReadRetryInterval));
                break;
            case RequestStatus.NoLeader:
                read.Completion.TrySetException(new NotLeaderException(RaftNode.None, null));
                break;
            default:
                read.Completion.TrySetException(new ProposalDroppedException($"read refused: {status}"));
                break;
        }
    }

    private void ReadIndexKnown(ReadState state)
    {
        if (_readsAwaitingIndex.Remove(state.RequestId, out var read)) _readsAwaitingApply.Add((state.Index, read.Completion));
    }

    private void ReleaseReads(ulong appliedIndex)
    {
        if (_readsAwaitingApply.Count == 0) return;
        _readsAwaitingApply.RemoveAll(r =>
        {
            if (r.Index > appliedIndex) return false;
            r.Completion.TrySetResult();
            return true;
        });
    }

    /// <summary>Called after every Ready: notes a new term (the core dropped its read requests), then re-asks.</summary>
    private void NoteTerm(ulong term)
    {
        if (term == _readTerm) return;
        _readTerm = term;
        _readsNeedReissue = true;
    }

    private void ReissueReads(RaftNode node)
    {
        _readsNeedReissue = false;
        foreach (var (id, read) in _readsAwaitingIndex)
        {
            read.RetryTick = _ticks + TicksOf(_options.ReadRetryInterval);
            Reask(node, id);
        }
    }

    /// <summary>Once per tick (called every loop iteration): fails reads past their deadline and re-asks those due for a retry.</summary>
    private void ExpireAndRetryReads(RaftNode node)
    {
        // Deadlines are in ticks: between ticks there is nothing to do, and the scan is not repeated per iteration.
        if (_readsAwaitingIndex.Count == 0 || _ticks == _readsScannedAtTick) return;
        _readsScannedAtTick = _ticks;
        _readScratch.Clear();
        foreach (var (id, read) in _readsAwaitingIndex)
        {
            if (_ticks >= read.DeadlineTick)
            {
                read.Completion.TrySetException(new ReadTimedOutException(_options.ReadTimeout));
                _readScratch.Add(id);
            }
            else if (_ticks >= read.RetryTick)
            {
                read.RetryTick = _ticks + TicksOf(_options.ReadRetryInterval);
                Reask(node, id);
            }
        }

        foreach (var id in _readScratch) _readsAwaitingIndex.Remove(id);
    }

    // The same id again: any answer to it, old or new, was produced after the read began, so any is linearizable.
    // Without a leader the read keeps waiting (until the next leader change or its deadline).
    private static void Reask(RaftNode node, ulong id) => node.ReadIndex(id);

    private void FailReads(Exception error)
    {
        foreach (var (_, r) in _readsAwaitingIndex) r.Completion.TrySetException(error);
        _readsAwaitingIndex.Clear();
        foreach (var (_, r) in _readsAwaitingApply) r.TrySetException(error);
        _readsAwaitingApply.Clear();
    }
}
