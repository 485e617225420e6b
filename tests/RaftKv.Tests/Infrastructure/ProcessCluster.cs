namespace RaftKv.Tests.Infrastructure;

/// <summary>N raftkv members on loopback with free ports and temporary data directories, removed afterwards.</summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    /// <summary>Short timeouts keep the tests fast; the ratio is etcd's default (1:10).</summary>
    public const int HeartbeatMs = 50;
    public const int ElectionTimeoutMs = 500;

    // A bound, not a wait: on a loaded 2-core machine (many clusters of the suite at once, each member a .NET start)
    // a first election plus status polls has taken over 20 s; a real failure to elect still fails, only later.
    public static readonly TimeSpan ElectionBound = TimeSpan.FromSeconds(45);

    private ProcessCluster(string root, IReadOnlyList<MemberProcess> members)
    {
        Root = root;
        Members = members;
    }

    public string Root { get; }

    public IReadOnlyList<MemberProcess> Members { get; }

    public string InitialCluster => string.Join(",", Members.Select(m => $"{m.Name}={m.PeerUrl}"));

    public string ClientEndpoints => string.Join(",", Members.Select(m => $"127.0.0.1:{m.ClientPort}"));

    public static ProcessCluster Create(int size, string token = "test-cluster")
    {
        var root = Path.Combine(Path.GetTempPath(), "raftkv-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        var members = Enumerable.Range(0, size)
            .Select(i => new MemberProcess(((char)('A' + i)).ToString(), FreePorts.Next(), FreePorts.Next(), FreePorts.Next(), Path.Combine(root, ((char)('A' + i)).ToString())))
            .ToArray();
        var cluster = new ProcessCluster(root, members);
        foreach (var m in members)
        {
            m.ExtraArgs =
            [
                "--initial-cluster", cluster.InitialCluster, "--initial-cluster-token", token,
                "--heartbeat-interval", HeartbeatMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--election-timeout", ElectionTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--log-level", "debug",
            ];
        }
        return cluster;
    }

    public static async Task<ProcessCluster> StartAsync(int size)
    {
        var cluster = Create(size);
        foreach (var m in cluster.Members) m.Start();
        await cluster.WaitForLeaderAsync().ConfigureAwait(false);
        return cluster;
    }

    public string Diagnostics() => string.Join("\n", Members.Select(m => m.OutputTail(25)));

    /// <summary>The leader every running member agrees on (all running members report the same leader and term).</summary>
    public async Task<MemberProcess> WaitForLeaderAsync(TimeSpan? timeout = null, Func<MemberStatus, bool>? also = null)
    {
        return await Poll.UntilAsync(async () =>
        {
            var statuses = await Task.WhenAll(Members.Where(m => m.IsRunning).Select(m => m.TryStatusAsync())).ConfigureAwait(false);
            if (statuses.Length == 0 || statuses.Any(s => s is null)) return null;
            var leaders = statuses.Where(s => s!.Role == "leader").ToArray();
            if (leaders.Length != 1) return null;
            var leader = leaders[0]!;
            if (statuses.Any(s => s!.Leader != leader.Id || s.Term != leader.Term)) return null;
            if (also is not null && !also(leader)) return null;
            return Members.Single(m => m.Name == leader.Name);
        }, timeout ?? ElectionBound, "one leader all running members follow", Diagnostics).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var m in Members) await m.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
