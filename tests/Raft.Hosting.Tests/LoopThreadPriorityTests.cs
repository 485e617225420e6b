namespace RaftKv.Raft.Hosting.Tests;

/// <summary>The loop thread's nice value: set on that one thread, read back from the kernel's view of it.</summary>
public sealed class LoopThreadPriorityTests
{
    [Fact]
    public void OnLinux_ItSetsTheCallingThreadsNiceOnly()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.NotNull(LoopThreadPriority.TrySet(5));
            return;
        }
        var before = NiceOfThisThread();
        int? inside = null;
        string? error = "not run";
        // Raising the nice value needs no privilege; a thread of its own, so the test's thread keeps its priority.
        var thread = new Thread(() =>
        {
            error = LoopThreadPriority.TrySet(Math.Min(before + 5, 19));
            inside = NiceOfThisThread();
        });
        thread.Start();
        thread.Join();
        Assert.Null(error);
        Assert.Equal(Math.Min(before + 5, 19), inside);
        Assert.Equal(before, NiceOfThisThread());
    }

    [Fact]
    public void TheHostRefusesANiceValueOutsideLinuxsRange()
    {
        var options = new RaftHostOptions { Raft = new RaftConfig { Id = 1, Voters = [1] }, LoopThreadNice = -21 };
        Assert.Contains("LoopThreadNice", Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
    }

    // Field 19 of /proc/thread-self/stat, counted after the command name's closing parenthesis (the name may hold spaces).
    private static int NiceOfThisThread()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3], System.Globalization.CultureInfo.InvariantCulture);
    }
}
