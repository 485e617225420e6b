namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// Every proposer gets exactly one answer (Raft paper section 8: a client learns whether its command was committed,
/// or that it must retry). The case found in review: a leader's uncommitted entries are cut back by the next leader,
/// and when this node leads again it proposes at an index where one of its old proposals still waits.
/// </summary>
public sealed class PendingProposalsTests
{
    private static TaskCompletionSource<object?> NewCompletion() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public async Task AProposalOverwrittenAtItsIndex_IsFailedAtOnce()
    {
        var pending = new PendingProposals();
        var old = NewCompletion();
        var current = NewCompletion();
        pending.Add(7, term: 1, old);
        pending.Add(7, term: 3, current);

        // Before the fix the old entry was silently replaced: its caller waited for its timeout.
        Assert.True(old.Task.IsCompleted, "the overwritten proposal's caller is still waiting");
        var e = await Assert.ThrowsAsync<ProposalDroppedException>(() => old.Task);
        Assert.Contains("index 7 holds another entry", e.Message, StringComparison.Ordinal);
        pending.Applied(new Entry(7, 3, EntryType.Normal, default), "result");
        Assert.Equal("result", await current.Task);
        Assert.Equal(0, pending.Count);
    }

    [Fact]
    public async Task AnIndexAppliedWithAnotherTermsEntry_FailsItsProposal()
    {
        var pending = new PendingProposals();
        var mine = NewCompletion();
        pending.Add(4, term: 2, mine);
        pending.Applied(new Entry(4, 5, EntryType.Normal, default), "someone else's");
        await Assert.ThrowsAsync<ProposalDroppedException>(() => mine.Task);
    }

    [Fact]
    public async Task ASnapshotFailsTheProposalsItCovers_AndNoOthers()
    {
        var pending = new PendingProposals();
        var covered = NewCompletion();
        var after = NewCompletion();
        pending.Add(10, term: 1, covered);
        pending.Add(11, term: 1, after);
        pending.FailUpTo(10);
        await Assert.ThrowsAsync<ProposalDroppedException>(() => covered.Task);
        Assert.False(after.Task.IsCompleted);
        pending.FailAll(new NodeStoppedException("test"));
        await Assert.ThrowsAsync<NodeStoppedException>(() => after.Task);
    }

    [Fact]
    public void TheSameIndexTwiceInOneTerm_IsABug()
    {
        var pending = new PendingProposals();
        pending.Add(3, term: 2, NewCompletion());
        Assert.Throws<RaftInvariantException>(() => pending.Add(3, term: 2, NewCompletion()));
    }
}
