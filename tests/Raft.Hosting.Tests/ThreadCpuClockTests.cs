using System.Diagnostics;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>The loop thread's CPU clock, which separates a snapshot's own work from time the scheduler gave others.</summary>
public sealed class ThreadCpuClockTests
{
    [Fact]
    public void OnLinux_ItAdvancesWhileTheThreadComputes_AndNotWhileItSleeps()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(ThreadCpuClock.Now());
            return;
        }
        var wall = Stopwatch.StartNew(); // started before and read after the CPU clock, so its interval holds the CPU one
        var start = ThreadCpuClock.Now();
        Assert.NotNull(start);
        var spin = 0L;
        while (wall.Elapsed < TimeSpan.FromMilliseconds(30)) spin++;
        var busy = ThreadCpuClock.Since(start)!.Value;
        var elapsed = wall.Elapsed;
        Assert.True(spin > 0);
        Assert.InRange(busy, TimeSpan.FromTicks(1), elapsed); // one thread's CPU time never exceeds the wall time

        var beforeSleep = ThreadCpuClock.Now();
        Thread.Sleep(50);
        Assert.InRange(ThreadCpuClock.Since(beforeSleep)!.Value, TimeSpan.Zero, TimeSpan.FromMilliseconds(25));
    }
}
