using System.Diagnostics;
using RaftKv.Raft.Storage.Tests.Support;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>Two writers on one log would corrupt it: a data directory is opened by one instance at a time.</summary>
public sealed class LockTests
{
    [Fact]
    public void A_second_instance_in_the_same_process_is_refused_until_the_first_closes()
    {
        using var dir = new TempDirectory();
        var first = DurableStorage.Open(dir.Path);
        var e = Assert.Throws<StorageLockedException>(() => DurableStorage.Open(dir.Path));
        Assert.Equal(Path.Combine(dir.Path, "LOCK"), e.Path);
        Assert.Contains("in use", e.Message);
        first.Dispose();
        using var second = DurableStorage.Open(dir.Path);
    }

    [RequiresFact(Requirement.Flock)]
    public void Another_process_holding_the_lock_is_refused()
    {
        using var dir = new TempDirectory();
        var lockPath = Path.Combine(dir.Path, "LOCK");
        var start = new ProcessStartInfo(Requirements.FlockPath, ["--exclusive", "--nonblock", "--close", lockPath, "sh", "-c", "echo held; sleep 30"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var holder = Process.Start(start)!;
        try
        {
            Assert.Equal("held", holder.StandardOutput.ReadLine());
            Assert.Throws<StorageLockedException>(() => DurableStorage.Open(dir.Path));
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }
        // The kernel drops the lock when its holder dies: no stale lock after a crash.
        using var storage = DurableStorage.Open(dir.Path);
    }
}
