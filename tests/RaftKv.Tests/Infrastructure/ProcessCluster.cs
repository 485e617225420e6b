using Grpc.Net.Client;

namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// N raftkv members with temporary data directories, removed afterwards: on loopback with free ports, or one per host
/// of a <see cref="HostNetwork"/> on etcd's default ports.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    /// <summary>Short timeouts keep the tests fast; the ratio is etcd's default (1:10).</summary>
    public const int HeartbeatMs = 50;
    public const int ElectionTimeoutMs = 500;

    // A bound, not a wait: on a loaded 2-core machine (many clusters of the suite at once, each member a .NET start)
    // a first election plus status polls has taken over 20 s; a real failure to elect still fails, only later.
    public static readonly TimeSpan ElectionBound = TimeSpan.FromSeconds(45);

    private readonly List<MemberProcess> _members;
    private readonly List<MemberProcess> _dropped = [];
    private readonly string _token;

    private ProcessCluster(string root, IReadOnlyList<MemberProcess> members, string token, HostNetwork? network)
    {
        Root = root;
        _members = [.. members];
        _token = token;
        Network = network;
    }

    public string Root { get; }

    /// <summary>The hosts the members run on; null on loopback. The cluster does not own it.</summary>
    internal HostNetwork? Network { get; }

    /// <summary>A gRPC channel to <paramref name="url"/> from where the test's clients are (on a host network, the client host).</summary>
    public GrpcChannel OpenChannel(string url) => NamespaceSockets.OpenChannel(url, Network?.Clients);

    /// <summary>The members this test runs now (those <see cref="Drop"/> took out are not listed); a copy, safe to enumerate while members change.</summary>
    public IReadOnlyList<MemberProcess> Members
    {
        get
        {
            lock (_members) return [.. _members];
        }
    }

    public string InitialCluster => string.Join(",", _members.Select(m => $"{m.Name}={m.PeerUrl}"));

    public string ClientEndpoints => string.Join(",", Members.Select(m => $"{m.Address}:{m.ClientPort}"));

    /// <summary>A cluster of <paramref name="size"/> members; <paramref name="schemes"/> sets the members' URL schemes (https for TLS) before the flags are made.</summary>
    public static ProcessCluster Create(int size, string token = "test-cluster", (string Client, string Peer)? schemes = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "raftkv-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        var members = Enumerable.Range(0, size)
            .Select(i => new MemberProcess(((char)('A' + i)).ToString(), FreePorts.Next(), FreePorts.Next(), FreePorts.Next(), Path.Combine(root, ((char)('A' + i)).ToString())))
            .ToArray();
        if (schemes is { } s)
        {
            foreach (var m in members) (m.ClientScheme, m.PeerScheme) = s;
        }
        var cluster = new ProcessCluster(root, members, token, network: null);
        foreach (var m in members) m.ExtraArgs = cluster.ArgsFor("new");
        return cluster;
    }

    /// <summary>
    /// A member on each host of <paramref name="network"/>, bound to the host's address on etcd's ports (2379 for
    /// clients, 2380 for peers) and 8080 for HTTP, as on separate machines. Not started.
    /// </summary>
    internal static ProcessCluster Create(HostNetwork network, string token = "test-cluster")
    {
        ArgumentNullException.ThrowIfNull(network);
        var root = Path.Combine(Path.GetTempPath(), "raftkv-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        var members = Enumerable.Range(0, network.Count)
            .Select(i => new MemberProcess(((char)('A' + i)).ToString(), 2379, 2380, 8080, Path.Combine(root, ((char)('A' + i)).ToString()),
                new MemberHost(network.NamespaceOf(i), HostNetwork.AddressOf(i), network.Clients, i)))
            .ToArray();
        var cluster = new ProcessCluster(root, members, token, network);
        foreach (var m in members) m.ExtraArgs = cluster.ArgsFor("new");
        return cluster;
    }

    private string[] ArgsFor(string state) =>
    [
        "--initial-cluster", InitialCluster, "--initial-cluster-token", _token, "--initial-cluster-state", state,
        "--heartbeat-interval", HeartbeatMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--election-timeout", ElectionTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--log-level", "debug",
    ];

    /// <summary>
    /// A new member (not started) with free ports and its own data directory, set to join with
    /// <c>--initial-cluster-state existing</c> and an --initial-cluster of the members listed now plus itself. The
    /// cluster must have added it (MemberAdd with <see cref="MemberProcess.PeerUrl"/>) before it starts.
    /// </summary>
    public MemberProcess AddMember(string name) =>
        Join(name, () => new MemberProcess(name, FreePorts.Next(), FreePorts.Next(), FreePorts.Next(), Path.Combine(Root, name)));

    /// <summary>
    /// As <see cref="AddMember"/>, on the host of <paramref name="old"/> with its ports (a member replaced on its
    /// machine: <paramref name="old"/> must have stopped) and a data directory of its own.
    /// </summary>
    internal MemberProcess AddMemberOnHostOf(MemberProcess old, string name)
    {
        ArgumentNullException.ThrowIfNull(old);
        return old.Host is null ? AddMember(name)
            : Join(name, () => new MemberProcess(name, old.ClientPort, old.PeerPort, old.HttpPort, Path.Combine(Root, name), old.Host));
    }

    private MemberProcess Join(string name, Func<MemberProcess> make)
    {
        lock (_members)
        {
            if (_members.Concat(_dropped).Any(m => m.Name == name)) throw new ArgumentException($"member name {name} was used already", nameof(name));
            var member = make();
            _members.Add(member);
            member.ExtraArgs = ArgsFor("existing");
            return member;
        }
    }

    /// <summary>Every member this test ran, those <see cref="Drop"/> took out too (their data directories stay until the end).</summary>
    public IReadOnlyList<MemberProcess> AllMembers
    {
        get
        {
            lock (_members) return [.. _members, .. _dropped];
        }
    }

    /// <summary>Takes a member out of <see cref="Members"/> (it was removed from the cluster); it is still disposed at the end.</summary>
    public void Drop(MemberProcess member)
    {
        lock (_members)
        {
            if (_members.Remove(member)) _dropped.Add(member);
        }
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
        foreach (var m in _members.Concat(_dropped)) await m.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
