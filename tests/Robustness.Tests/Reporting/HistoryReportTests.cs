using RaftKv.Robustness.Checking;
using RaftKv.Robustness.Reporting;
using RaftKv.Robustness.Tests.Checking;

namespace RaftKv.Robustness.Tests.Reporting;

/// <summary>The run's page (issue 16): verdicts, charts with fault windows, and on failure the reason.</summary>
public sealed class HistoryReportTests
{
    [Fact]
    public void APassingRun_ShowsItsVerdictsAndFaults_AndNoFailureSection()
    {
        var h = new H().Put(1, 0, 10, "a", "1", revision: 2).Get(2, 20, 30, "a", "1", modRevision: 2, revision: 2).PutUnknown(1, 40, "a", "2");
        var report = KvHistoryChecker.Check(h.Operations);
        var html = HistoryReport.Html("run <1>", h.Operations, [new FaultWindow("kill -9", "B", 15, 35)], report, ticksPerSecond: 100);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains("<title>run &lt;1&gt;</title>", html, StringComparison.Ordinal);
        Assert.Contains("3 operations (1 of unknown outcome)", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"ok\">Ok</td>", html, StringComparison.Ordinal);
        Assert.Contains("<title>kill -9 B</title>", html, StringComparison.Ordinal);
        Assert.Contains("<td>0.15</td><td>0.35</td>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Why it failed", html, StringComparison.Ordinal);
    }

    [Fact]
    public void AFailingRun_SaysWhichCheckFailed_AndWhy()
    {
        var h = new H().Put(1, 0, 1, "a", "1", revision: 2).Get(2, 2, 3, "a", null, modRevision: 0, revision: 2);
        var report = KvHistoryChecker.Check(h.Operations);
        var html = HistoryReport.Html("stale", h.Operations, [], report, ticksPerSecond: 1000);
        Assert.Contains("<td class=\"bad\">Illegal</td>", html, StringComparison.Ordinal);
        Assert.Contains("Why it failed", html, StringComparison.Ordinal);
        Assert.Contains("get(a) -&gt; &lt;absent&gt;", html, StringComparison.Ordinal);
    }
}
