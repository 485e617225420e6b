using static RaftKv.Raft.Tests.StepFixture;

namespace RaftKv.Raft.Tests;

/// <summary>
/// Bad input from the wire: <see cref="RaftNode.Step"/> refuses it with <see cref="InvalidMessageException"/> and
/// nothing else, before any state changes, so a host can drop it and carry on (and treat every other exception as
/// a bug).
/// </summary>
public sealed class InvalidMessageTests
{
    private static readonly ConfState Members = new([1, 2, 3]);

    private static Snapshot Snap(ulong index, ulong term, ConfState? conf = null) => new(new SnapshotMetadata(index, term, conf ?? Members), default);

    /// <summary>Messages to <see cref="StepFixture.Follower"/> (term 2, log 1/1 2/1 3/2, commit 2). Most carry term 3,
    /// so any partial handling would show as a term change.</summary>
    private static readonly Dictionary<string, Message> ToFollower = new()
    {
        ["misaddressed"] = new() { Type = MessageType.Heartbeat, From = 2, To = 3, Term = 3 },
        ["from itself"] = new() { Type = MessageType.Heartbeat, From = 1, To = 1, Term = 3 },
        ["from no one"] = new() { Type = MessageType.Heartbeat, From = RaftNode.None, To = 1, Term = 3 },
        ["configuration change entry that does not decode"] = Append(3, 2, new Entry(4, 3, EntryType.ConfChange, new byte[] { 9, 9 })),
        ["undefined type"] = new() { Type = (MessageType)99, From = 2, To = 1, Term = 3 },
        ["append without a term"] = new() { Type = MessageType.Append, From = 2, To = 1, Term = 0 },
        ["term that can never be followed"] = new() { Type = MessageType.TimeoutNow, From = 2, To = 1, Term = ulong.MaxValue },
        ["forwarded read with a term"] = new() { Type = MessageType.ReadIndex, From = 2, To = 1, Term = 3, Context = 5 },
        ["append entries not starting after Index"] = Append(3, 2, E(5, 3)),
        ["append entries with a gap"] = Append(3, 2, E(4, 3), E(6, 3)),
        ["append entries repeating an index"] = Append(3, 2, E(4, 3), E(4, 3)),
        ["append entry newer than the message term"] = Append(3, 2, E(4, 4)),
        ["append entry terms going down"] = Append(3, 2, E(4, 3), E(5, 2)),
        ["append entry older than the entry before it"] = Append(3, 2, E(4, 1)),
        ["append entry of term 0"] = Append(0, 0, E(1, 0)),
        ["append entry of an undefined type"] = Append(3, 2, new Entry(4, 3, (EntryType)9, default)),
        ["append previous term newer than the message term"] = Append(3, 4),
        ["append after index 0 with a previous term"] = Append(0, 1, E(1, 1)),
        ["append whose indexes overflow"] = Append(ulong.MaxValue - 1, 2, E(ulong.MaxValue, 3)),
        ["append with null entries"] = new() { Type = MessageType.Append, From = 2, To = 1, Term = 3, Index = 3, LogTerm = 2, Entries = null! },
        ["heartbeat committing beyond the log"] = new() { Type = MessageType.Heartbeat, From = 2, To = 1, Term = 3, Commit = 10 },
        ["heartbeat carrying entries"] = new() { Type = MessageType.Heartbeat, From = 2, To = 1, Term = 3, Entries = [E(4, 3)] },
        ["heartbeat carrying a snapshot"] = new() { Type = MessageType.Heartbeat, From = 2, To = 1, Term = 3, Snapshot = Snap(5, 3) },
        ["snapshot message without a snapshot"] = new() { Type = MessageType.Snapshot, From = 2, To = 1, Term = 3 },
        ["snapshot without metadata"] = Install(new Snapshot(null!, default)),
        ["snapshot without membership"] = Install(new Snapshot(new SnapshotMetadata(10, 3, null!), default)),
        ["snapshot at index 0"] = Install(Snap(0, 3)),
        ["snapshot of term 0"] = Install(Snap(10, 0)),
        ["snapshot newer than the message term"] = Install(Snap(10, 4)),
        ["snapshot at the last possible index"] = Install(Snap(ulong.MaxValue, 3)),
        ["vote for a log newer than its term"] = new() { Type = MessageType.Vote, From = 3, To = 1, Term = 5, Index = 3, LogTerm = 6 },
        ["vote for an empty log with a last term"] = new() { Type = MessageType.Vote, From = 3, To = 1, Term = 5, Index = 0, LogTerm = 1 },
        ["vote with an undefined context"] = new() { Type = MessageType.Vote, From = 3, To = 1, Term = 5, Index = 3, LogTerm = 2, Context = 7 },
    };

    /// <summary>Messages to <see cref="StepFixture.LeaderWithPendingRead"/> (term 1, log 1/1 committed, read round 1 in flight).</summary>
    private static readonly Dictionary<string, Message> ToLeader = new()
    {
        ["ack beyond the leader's log"] = new() { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 1, Index = 5 },
        ["rejection of an index the leader never sent"] = new() { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 1, Index = 5, Reject = true, RejectHint = 5 },
        ["heartbeat ack of a read round never started"] = new() { Type = MessageType.HeartbeatResponse, From = 3, To = 1, Term = 1, Context = 9 },
    };

    public static TheoryData<string> FollowerCases => [.. ToFollower.Keys];

    public static TheoryData<string> LeaderCases => [.. ToLeader.Keys];

    private static Message Append(ulong index, ulong logTerm, params Entry[] entries) =>
        new() { Type = MessageType.Append, From = 2, To = 1, Term = 3, Index = index, LogTerm = logTerm, Commit = 2, Entries = entries };

    private static Message Install(Snapshot snapshot) => new() { Type = MessageType.Snapshot, From = 2, To = 1, Term = 3, Snapshot = snapshot };

    private static void AssertRefusedWithoutChange(StepFixture fixture, Message message)
    {
        var before = fixture.State();
        Assert.Throws<InvalidMessageException>(() => fixture.Node.Step(message));
        Assert.Equal(before, fixture.State());
        Assert.False(fixture.Node.HasReady); // nothing to persist, send or apply
    }

    [Theory]
    [MemberData(nameof(FollowerCases))]
    public void Follower_RefusesMalformedMessage_WithoutChangingState(string malformed) =>
        AssertRefusedWithoutChange(Follower(), ToFollower[malformed]);

    [Theory]
    [MemberData(nameof(LeaderCases))]
    public void Leader_RefusesMalformedMessage_WithoutChangingState(string malformed) =>
        AssertRefusedWithoutChange(LeaderWithPendingRead(), ToLeader[malformed]);

    [Fact]
    public void AfterARefusedMessage_TheNodeKeepsWorking()
    {
        var fixture = Follower();
        Assert.Throws<InvalidMessageException>(() => fixture.Node.Step(ToFollower["append entries with a gap"]));
        fixture.Node.Step(Append(3, 2, E(4, 3), E(5, 3)));
        var sent = fixture.Drain();
        Assert.Equal(5UL, fixture.Node.LastIndex);
        Assert.Equal(3UL, fixture.Node.Term);
        Assert.True(sent.Single() is { Type: MessageType.AppendResponse, Index: 5, Reject: false });
    }

    [Fact]
    public void ForgedAckBeyondTheLeadersLog_IsRefusedBeforeItCanCommit()
    {
        // Paper section 5.3: an entry is committed once the leader has replicated it on a majority. Before the
        // check, an ack for index 5 (the leader's log ends at 1) counted node 2 as holding the no-op, committed it
        // with only the leader holding it, and then failed an invariant deep in SendAppend: a core bug to the host.
        var fixture = FreshLeader();
        var before = fixture.State();
        Assert.Throws<InvalidMessageException>(() =>
            fixture.Node.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = 1, Index = 5 }));
        Assert.Equal(before, fixture.State());
        Assert.Equal(0UL, fixture.Node.CommitIndex);
    }

    [Fact]
    public void MisnumberedAppend_IsRefusedBeforeTheTermChanges()
    {
        // Before the check, the node adopted term 3 and its sender as leader (paper section 5.1), and only then an
        // invariant failed in RaftLog.MaybeAppend: half the message had been handled.
        var fixture = Follower();
        Assert.Throws<InvalidMessageException>(() => fixture.Node.Step(ToFollower["append entries not starting after Index"]));
        Assert.Equal(2UL, fixture.Node.Term);
        Assert.Equal(RaftNode.None, fixture.Node.Lead);
    }

    [Fact]
    public void AppendWithAGap_IsRefusedInsteadOfCorruptingTheLog()
    {
        // Paper section 5.3 (log matching) relies on entries being numbered consecutively. Before the check, only
        // the first new entry's index was checked: 4 and 6 went into the log as 4 and 5.
        var fixture = Follower();
        Assert.Throws<InvalidMessageException>(() => fixture.Node.Step(ToFollower["append entries with a gap"]));
        Assert.Equal(3UL, fixture.Node.LastIndex);
    }
}
