using System.Diagnostics;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>Polling waits shared by the host tests: real threads and timers, so conditions are awaited, bounded.</summary>
internal static class HostWaits
{
    /// <summary>The one host that reports itself leader, once exactly one does.</summary>
    public static async Task<RaftHost> SingleLeaderAsync(IEnumerable<RaftHost> hosts, TimeSpan bound)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < bound)
        {
            var leaders = hosts.Where(h => h.Status?.Role == RaftRole.Leader).ToArray();
            if (leaders.Length == 1) return leaders[0];
            await Task.Delay(10);
        }
        throw new TimeoutException("no single leader");
    }

    /// <summary>Returns once <paramref name="condition"/> holds; throws naming <paramref name="what"/> after <paramref name="bound"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan bound, string what)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (stopwatch.Elapsed > bound) throw new TimeoutException($"{what} did not happen within {bound.TotalSeconds} s");
            await Task.Delay(10);
        }
    }
}
