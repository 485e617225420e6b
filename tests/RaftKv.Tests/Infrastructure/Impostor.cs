using System.Collections.Concurrent;

namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// A raftkv process posing as one of a cluster's members (its name and advertised peer URL, on ports of its own,
/// campaigning every 250 ms at most), for tests that show such a process cannot disturb the cluster.
/// </summary>
internal static class Impostor
{
    /// <summary>
    /// The serve arguments of a process posing as <paramref name="posingAs"/>: this cluster's --initial-cluster, with
    /// <paramref name="clusterToken"/> (the cluster's own, "test-cluster", gives the same cluster and member ids),
    /// peers on <paramref name="peerScheme"/>, and <paramref name="extra"/> (TLS flags).
    /// </summary>
    public static List<string> Args(ProcessCluster cluster, MemberProcess posingAs, string dataDirName, string clusterToken, string peerScheme = "http",
        IEnumerable<string>? extra = null) =>
    [
        "serve", "--name", posingAs.Name, "--data-dir", Path.Combine(cluster.Root, dataDirName),
        "--listen-client-urls", $"http://127.0.0.1:{FreePorts.Next()}", "--listen-peer-urls", $"{peerScheme}://127.0.0.1:{FreePorts.Next()}",
        "--initial-advertise-peer-urls", posingAs.PeerUrl,
        "--initial-cluster", cluster.InitialCluster, "--initial-cluster-token", clusterToken, "--initial-cluster-state", "new",
        "--heartbeat-interval", "50", "--election-timeout", "250", "--log-level", "debug",
        .. extra ?? [],
    ];

    /// <summary>
    /// Runs the impostor (<paramref name="args"/>) until a member other than the one it poses as logs a line
    /// containing all of <paramref name="refusal"/> (<paramref name="refusalWhat"/> says what, for the timeout), and
    /// it has campaigned five times (each with a higher term: not a fixed wait); then requires the same leader at the
    /// same term as before (Raft section 5.2: an accepted higher term would have made the leader step down). Kills it.
    /// </summary>
    public static async Task AssertCannotDisturbAsync(ProcessCluster cluster, MemberProcess leader, ulong term, MemberProcess posingAs, List<string> args,
        string[] refusal, string refusalWhat, TimeSpan bound)
    {
        var output = new ConcurrentQueue<string>();
        using var impostor = RaftKvBinary.Start(args, output);
        try
        {
            string Diagnostics() => cluster.Diagnostics() + "\nimpostor:\n" + string.Join('\n', output.TakeLast(30));
            await Poll.UntilAsync(() => Task.FromResult(cluster.Members.Where(m => m != posingAs).Any(m =>
                    m.Output.Any(l => refusal.All(part => l.Contains(part, StringComparison.Ordinal))))),
                bound, refusalWhat, Diagnostics);
            await Poll.UntilAsync(() => Task.FromResult(output.Count(l => l.Contains("became pre-candidate", StringComparison.Ordinal)) >= 5),
                bound, "the impostor campaigning five times", Diagnostics);

            var after = await cluster.WaitForLeaderAsync();
            var status = (await after.TryStatusAsync())!;
            Assert.True(status.Term == term, $"the term moved from {term} to {status.Term}\n{Diagnostics()}");
            Assert.Equal(leader.Name, after.Name);
        }
        finally
        {
            impostor.Kill();
            await impostor.WaitForExitAsync();
        }
    }
}
