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
}
