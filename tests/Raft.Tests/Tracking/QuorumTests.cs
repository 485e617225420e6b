using RaftKv.Raft.Tracking;

namespace RaftKv.Raft.Tests.Tracking;

public sealed class QuorumTests
{
    /// <summary>The obvious definition: the largest index that at least a majority have reached.</summary>
    private static ulong NaiveCommittedIndex(ulong[] matches)
    {
        var quorum = matches.Length / 2 + 1;
        return matches.Where(candidate => matches.Count(m => m >= candidate) >= quorum).DefaultIfEmpty(0UL).Max();
    }

    [Fact]
    public void CommittedIndex_MatchesTheNaiveDefinition_OnRandomInputs()
    {
        var random = new Random(1);
        for (var round = 0; round < 5000; round++)
        {
            var matches = Enumerable.Range(0, random.Next(1, 8)).Select(_ => (ulong)random.Next(0, 20)).ToArray();
            var expected = NaiveCommittedIndex(matches);
            var actual = Quorum.CommittedIndex(matches.ToArray());
            Assert.True(expected == actual, $"matches [{string.Join(",", matches)}]: expected {expected}, got {actual}");
        }
    }

    [Theory]
    [InlineData(3, 2, 0, VoteResult.Won)]
    [InlineData(3, 1, 1, VoteResult.Pending)]
    [InlineData(3, 1, 2, VoteResult.Lost)]
    [InlineData(4, 2, 1, VoteResult.Pending)]
    [InlineData(4, 2, 2, VoteResult.Lost)]
    [InlineData(5, 3, 2, VoteResult.Won)]
    [InlineData(1, 1, 0, VoteResult.Won)]
    public void Count_NeedsAStrictMajority(int voters, int granted, int rejected, VoteResult expected) =>
        Assert.Equal(expected, Quorum.Count(voters, granted, rejected));

    private readonly struct ArrayLookup(Dictionary<ulong, ulong> matches) : IIndexLookup
    {
        public ulong IndexOf(ulong id) => matches.GetValueOrDefault(id);
    }

    /// <summary>Thesis section 4.3: in a joint configuration an index is committed when a majority of each half holds it.</summary>
    [Fact]
    public void JointCommittedIndex_IsTheLargestIndexAMajorityOfBothHalvesHold()
    {
        var random = new Random(2);
        for (var round = 0; round < 2000; round++)
        {
            var incoming = Enumerable.Range(1, 7).Where(_ => random.Next(2) == 0).Select(i => (ulong)i).DefaultIfEmpty(1UL).ToArray();
            var outgoing = Enumerable.Range(1, 7).Where(_ => random.Next(2) == 0).Select(i => (ulong)i).ToArray();
            var conf = new ConfState(incoming, [], outgoing, autoLeave: false);
            var matches = Enumerable.Range(1, 7).ToDictionary(i => (ulong)i, _ => (ulong)random.Next(0, 10));
            ulong naive = 0;
            for (ulong candidate = 0; candidate < 10; candidate++)
            {
                if (conf.IsQuorum(id => matches[id] >= candidate)) naive = candidate;
            }
            var actual = Quorum.CommittedIndex(conf, new ArrayLookup(matches));
            Assert.True(naive == actual, $"{conf} with matches {string.Join(",", matches.Values)}: expected {naive}, got {actual}");
        }
    }

    [Fact]
    public void JointVotes_AreWonWithBothHalves_AndLostWithEither()
    {
        var conf = new ConfState([1, 2, 3], [], [3, 4, 5], autoLeave: false);
        Assert.Equal(VoteResult.Pending, Quorum.Count(conf, new Dictionary<ulong, bool> { [1] = true, [2] = true }));
        Assert.Equal(VoteResult.Won, Quorum.Count(conf, new Dictionary<ulong, bool> { [1] = true, [2] = true, [4] = true, [5] = true }));
        Assert.Equal(VoteResult.Won, Quorum.Count(conf, new Dictionary<ulong, bool> { [2] = true, [3] = true, [4] = true }));
        Assert.Equal(VoteResult.Lost, Quorum.Count(conf, new Dictionary<ulong, bool> { [1] = true, [2] = true, [4] = false, [5] = false }));
        // A learner's vote never counts.
        var withLearner = new ConfState([1, 2, 3], [4], [], autoLeave: false);
        Assert.Equal(VoteResult.Pending, Quorum.Count(withLearner, new Dictionary<ulong, bool> { [1] = true, [4] = true }));
    }
}
