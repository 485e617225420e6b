namespace RaftKv.Raft.Tests;

/// <summary>
/// Random messages (mostly nonsense, with small and extreme field values) against a follower and two leaders: each
/// is handled without any exception, now or when its Ready is persisted, or refused with
/// <see cref="InvalidMessageException"/> and no change, or (when it is a well-formed second leader in a term)
/// stops the node with <see cref="RaftInvariantException"/>. Nothing else may escape.
/// </summary>
public sealed class InvalidMessageFuzzTests
{
    private const int Messages = 6_000;

    [Fact]
    public void RandomMessages_AreHandledOrRefusedWithoutChange()
    {
        var rng = new Random(5);
        var refused = 0;
        for (var i = 0; i < Messages; i++)
        {
            var fixture = (i % 3) switch
            {
                0 => StepFixture.Follower(),
                1 => StepFixture.FreshLeader(),
                _ => StepFixture.LeaderWithPendingRead(),
            };
            var m = RandomMessage(rng);
            var before = fixture.State();
            try
            {
                fixture.Node.Step(m);
            }
            catch (InvalidMessageException)
            {
                refused++;
                Assert.Equal(before, fixture.State());
                Assert.False(fixture.Node.HasReady);
                continue;
            }
            catch (RaftInvariantException e) when (e.Message.Contains("in the same term", StringComparison.Ordinal)
                || e.Message.Contains("also acts as leader", StringComparison.Ordinal))
            {
                continue; // election safety broken (paper section 5.2): the node must stop
            }
            // Accepted: persisting and ticking must not fail either (a corrupt log would fail in storage).
            fixture.Drain();
            fixture.Node.Tick();
            fixture.Drain();
        }
        Assert.InRange(refused, Messages / 4, Messages); // the generator does produce bad input
    }

    private static Message RandomMessage(Random rng)
    {
        ulong Small() => rng.Next(10) == 0 ? ulong.MaxValue - (ulong)rng.Next(3) : (ulong)rng.Next(0, 7);
        var type = (MessageType)rng.Next(0, 15);
        var start = Small();
        var entries = Enumerable.Range(0, rng.Next(0, 4))
            .Select(k => StepFixture.E(rng.Next(3) == 0 ? Small() : start + (ulong)k, Small()))
            .ToArray();
        var snapshot = type == MessageType.Snapshot && rng.Next(5) != 0
            ? new Snapshot(new SnapshotMetadata(Small() * 2, Small(), new ConfState([1, 2, 3])), default)
            : null;
        return new Message
        {
            Type = type, From = (ulong)rng.Next(1, 5), To = rng.Next(20) == 0 ? 2UL : 1UL, Term = Small(), LogTerm = Small(),
            Index = Small(), Commit = Small() * 2, Entries = entries, Reject = rng.Next(2) == 0, RejectHint = Small(),
            Context = Small(), Snapshot = snapshot,
        };
    }
}
