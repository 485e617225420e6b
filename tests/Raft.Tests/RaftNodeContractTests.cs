namespace RaftKv.Raft.Tests;

/// <summary>The host-facing contract of <see cref="RaftNode"/>: configuration, the Ready/Advance protocol, bad input.</summary>
public sealed class RaftNodeContractTests
{
    private static RaftNode NewNode(Func<RaftConfig, RaftConfig>? tweak = null) =>
        new((tweak ?? (c => c))(new RaftConfig { Id = 1, Voters = [1, 2, 3] }), new MemoryStorage(), new Random(1));

    [Theory]
    [InlineData(0, 10, 1, "Id")]
    [InlineData(1, 1, 1, "ElectionTimeoutTicks")]
    [InlineData(1, 10, 0, "HeartbeatTimeoutTicks")]
    public void Config_OutOfRange_IsRejectedNamingTheSetting(ulong id, int election, int heartbeat, string setting)
    {
        var config = new RaftConfig { Id = id, Voters = [1], ElectionTimeoutTicks = election, HeartbeatTimeoutTicks = heartbeat };
        var e = Assert.Throws<ArgumentException>(config.Validate);
        Assert.Contains(setting, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NewNode_WithoutVoters_StartsInTheEmptyConfiguration_AndDoesNotCampaign()
    {
        // A member added to a running cluster (or one bootstrapped from RaftBootstrap's entries) learns its
        // configuration from the log; until then it is in none and never campaigns.
        var node = new RaftNode(new RaftConfig { Id = 1 }, new MemoryStorage(), new Random(1));
        Assert.Equal(ConfState.Empty, node.Membership);
        node.Campaign();
        Assert.Equal(RaftRole.Follower, node.Role);
        Assert.False(node.HasReady && node.GetReady().Messages.Count > 0);
    }

    [Fact]
    public void CallsBetweenGetReadyAndAdvance_Throw()
    {
        var node = NewNode(c => c with { PreVote = false });
        node.Campaign();
        Assert.True(node.HasReady);
        var rd = node.GetReady();
        Assert.True(rd.MustSync); // a new term and a self-vote must be durable before the vote requests go out
        Assert.Throws<InvalidOperationException>(node.Tick);
        Assert.Throws<InvalidOperationException>(() => node.GetReady());
        node.Advance();
        Assert.Throws<InvalidOperationException>(node.Advance);
        node.Tick();
    }

    [Fact]
    public void OnlyALeadersAppends_MayBeSentBeforePersisting()
    {
        // Thesis section 10.2.1: a leader's appends promise nothing about its own disk; a vote request does.
        var node = NewNode(c => c with { PreVote = false });
        node.Campaign();
        var campaign = node.GetReady();
        Assert.False(campaign.MessagesMayPrecedePersist); // new term and self-vote must be durable first
        node.Advance();
        node.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = node.Term });
        Assert.Equal(RaftRole.Leader, node.Role);
        var lead = node.GetReady();
        Assert.Contains(lead.Messages, m => m.Type == MessageType.Append);
        Assert.True(lead.MessagesMayPrecedePersist);
        node.Advance();
    }

    [Fact]
    public void PreVote_ChangesNothingDurable()
    {
        var node = NewNode();
        node.Campaign();
        var rd = node.GetReady();
        Assert.False(rd.MustSync);
        Assert.Null(rd.HardState);
        Assert.All(rd.Messages, m => Assert.Equal(MessageType.PreVote, m.Type));
        Assert.All(rd.Messages, m => Assert.Equal(1UL, m.Term)); // the term it would campaign in
        node.Advance();
        Assert.Equal(0UL, node.Term);
    }

    [Fact]
    public void Step_RejectsMisaddressedAndTermlessMessages()
    {
        var node = NewNode();
        Assert.Throws<InvalidMessageException>(() => node.Step(new Message { Type = MessageType.Heartbeat, From = 2, To = 3, Term = 1 }));
        Assert.Throws<InvalidMessageException>(() => node.Step(new Message { Type = MessageType.Heartbeat, From = 1, To = 1, Term = 1 }));
        Assert.Throws<InvalidMessageException>(() => node.Step(new Message { Type = MessageType.Append, From = 2, To = 1, Term = 0 }));
    }

    [Fact]
    public void Follower_GrantsOneVotePerTerm()
    {
        // Paper section 5.2: each server votes for at most one candidate in a term, first come first served.
        var node = NewNode(c => c with { PreVote = false, CheckQuorum = false });
        node.Step(new Message { Type = MessageType.Vote, From = 2, To = 1, Term = 5 });
        node.Step(new Message { Type = MessageType.Vote, From = 3, To = 1, Term = 5 });
        var rd = node.GetReady();
        Assert.Equal(new HardState(5, 2, 0), rd.HardState);
        Assert.Collection(rd.Messages,
            m => Assert.True(m is { To: 2, Type: MessageType.VoteResponse, Reject: false }),
            m => Assert.True(m is { To: 3, Type: MessageType.VoteResponse, Reject: true }));
        node.Advance();
    }

    [Fact]
    public void Follower_RefusesACandidateWithAStalerLog()
    {
        // Paper section 5.4.1: vote only for a candidate whose log is at least as up to date.
        var storage = new MemoryStorage();
        storage.Append([new Entry(1, 3, EntryType.Normal, default)]);
        storage.SetHardState(new HardState(3, 0, 0));
        var node = new RaftNode(new RaftConfig { Id = 1, Voters = [1, 2, 3], PreVote = false, CheckQuorum = false }, storage, new Random(1));
        node.Step(new Message { Type = MessageType.Vote, From = 2, To = 1, Term = 4, Index = 5, LogTerm = 2 });
        var rd = node.GetReady();
        Assert.True(rd.Messages.Single() is { Type: MessageType.VoteResponse, Reject: true });
        Assert.Equal(0UL, rd.HardState!.Value.Vote);
        node.Advance();
    }

    [Fact]
    public void Follower_CommitsOnlyUpToTheLastEntryTheLeaderVouchedFor()
    {
        // Paper figure 2, AppendEntries step 5: commitIndex = min(leaderCommit, index of last new entry). The
        // follower's entries beyond the message may be a stale tail that the leader's log does not share.
        var storage = new MemoryStorage();
        storage.Append(Enumerable.Range(1, 6).Select(i => new Entry((ulong)i, 1, EntryType.Normal, default)).ToArray());
        storage.SetHardState(new HardState(1, 0, 0));
        var node = new RaftNode(new RaftConfig { Id = 1, Voters = [1, 2, 3] }, storage, new Random(1));
        node.Step(new Message
        {
            Type = MessageType.Append, From = 2, To = 1, Term = 2, Index = 2, LogTerm = 1, Commit = 6,
            Entries = [new Entry(3, 1, EntryType.Normal, default)],
        });
        Assert.Equal(3UL, node.CommitIndex);
        var rd = node.GetReady();
        Assert.Equal(3UL, rd.Messages.Single(m => m.Type == MessageType.AppendResponse).Index);
        node.Advance();
    }

    [Fact]
    public void Follower_TruncatesAConflictingTailAndHintsTheConflictingTerm()
    {
        // Paper section 5.3: delete the existing entry and all that follow it on conflict. Rejections carry
        // the term of the follower's entry so the leader can skip the whole term.
        var storage = new MemoryStorage();
        storage.Append([new Entry(1, 1, EntryType.Normal, default), new Entry(2, 2, EntryType.Normal, default), new Entry(3, 2, EntryType.Normal, default)]);
        storage.SetHardState(new HardState(2, 0, 1));
        var node = new RaftNode(new RaftConfig { Id = 1, Voters = [1, 2, 3] }, storage, new Random(1));
        node.Step(new Message { Type = MessageType.Append, From = 2, To = 1, Term = 3, Index = 3, LogTerm = 3, Commit = 1 });
        var reject = node.GetReady().Messages.Single();
        node.Advance();
        Assert.True(reject is { Reject: true, RejectHint: 3, LogTerm: 2 });
        node.Step(new Message
        {
            Type = MessageType.Append, From = 2, To = 1, Term = 3, Index = 1, LogTerm = 1, Commit = 1,
            Entries = [new Entry(2, 3, EntryType.Normal, default)],
        });
        var rd = node.GetReady();
        Assert.Equal(2UL, rd.Entries.Single().Index);
        Assert.Equal(2UL, node.LastIndex);
        node.Advance();
    }

    [Fact]
    public void Restart_RestoresTermVoteAndCommitFromStorage()
    {
        var storage = new MemoryStorage();
        storage.Append([new Entry(1, 2, EntryType.Normal, default), new Entry(2, 2, EntryType.Normal, "x"u8.ToArray())]);
        storage.SetHardState(new HardState(7, 3, 2));
        var node = new RaftNode(new RaftConfig { Id = 1, Voters = [1, 2, 3] }, storage, new Random(1));
        Assert.Equal(7UL, node.Term);
        Assert.Equal(3UL, node.Vote);
        Assert.Equal(2UL, node.CommitIndex);
        var rd = node.GetReady();
        Assert.Equal(2, rd.CommittedEntries.Count); // re-applied: the state machine is in memory
        node.Advance();
        Assert.Equal(2UL, node.AppliedIndex);
    }

    [Fact]
    public void Restart_WithCommitBeyondTheLog_IsAnInvariantViolation()
    {
        var storage = new MemoryStorage();
        storage.SetHardState(new HardState(1, 0, 5));
        Assert.Throws<RaftInvariantException>(() => new RaftNode(new RaftConfig { Id = 1, Voters = [1] }, storage, new Random(1)));
    }

    [Fact]
    public void Leader_ReceivingAnAppendInItsOwnTerm_ThrowsBecauseThatMeansTwoLeaders()
    {
        // Election safety (paper section 5.2) is broken, not the message: a well-formed append from a member.
        var node = StepFixture.FreshLeader().Node;
        Assert.Throws<RaftInvariantException>(() =>
            node.Step(new Message { Type = MessageType.Append, From = 2, To = 1, Term = node.Term }));
    }
}
