namespace RaftKv.Raft.Hosting.Tests;

/// <summary>Every sample runs here and must reach its outcome (issue 17).</summary>
public sealed class SamplesTests
{
    [Fact]
    public async Task ReplicatedCounter_re_elects_a_leader_and_the_survivors_agree_on_the_value()
    {
        var output = new StringWriter();
        var exitCode = await Samples.ReplicatedCounter.Program.RunAsync(output).WaitAsync(TimeSpan.FromSeconds(90));
        var text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Matches(@"stopped node \d", text);
        Assert.Matches(@"node \d was elected leader", text);
        Assert.Contains("final value 75: the surviving nodes agree", text);
    }

    [Fact]
    public void PureCore_DrivesThreeNodesByHand_AndTheValueIsAppliedOnAll()
    {
        var output = new StringWriter();
        var exitCode = Samples.PureCore.Program.Run(output);
        var text = output.ToString();
        Assert.True(exitCode == 0, text);
        Assert.Matches(@"node \d leads term \d+; proposed 'x=1'", text);
        foreach (var id in new[] { 1, 2, 3 }) Assert.Matches($"node {id} applied 'x=1' at index \\d+", text);
        Assert.Contains("'x=1' is committed and applied on all 3 nodes", text);
    }
}
