using RaftKv.Server;

namespace RaftKv.Tests.Server;

/// <summary>The phases of a member's start in its "serving" line (restart-to-serving is a figure of issue 12).</summary>
public sealed class StartupTimelineTests
{
    [Fact]
    public void EveryPhaseIsNamed_AndTheTotalIsAtLeastTheirSum()
    {
        var timeline = new StartupTimeline();
        foreach (var phase in Enum.GetValues<StartupTimeline.Phase>())
        {
            Thread.SpinWait(10_000);
            timeline.Mark(phase);
        }
        var text = timeline.ToString();
        var match = System.Text.RegularExpressions.Regex.Match(text,
            @"^(\d+) ms \(runtime (\d+|\?), log (\d+), store (\d+), host (\d+), raft (\d+), listen (\d+)\)$");
        Assert.True(match.Success, text);
        var total = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var phases = Enumerable.Range(3, 5).Sum(g => long.Parse(match.Groups[g].Value, System.Globalization.CultureInfo.InvariantCulture));
        // Each phase is rounded on its own, so the sum may exceed the total by up to one per phase.
        Assert.True(total + 5 >= phases, text);
    }
}
