using System.Diagnostics;
using System.Globalization;
using RaftKv.Robustness.Reporting;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Robustness;

/// <summary>The faults the robustness suite injects (issue 16).</summary>
public enum FaultKind
{
    /// <summary>kill -9 of a random member, restarted after 0.2-1.5 s.</summary>
    Kill,

    /// <summary>SIGSTOP of the leader for three election timeouts, then SIGCONT: a process pause (GC, VM steal).</summary>
    Pause,

    /// <summary>
    /// A random member restarted with one failure point armed (<c>RAFTKV_FAILPOINTS</c>): a crash on a random hit of
    /// the WAL save, the backend commit, a snapshot's publication or a compaction, or a slow disk (a sleep on every
    /// backend commit); restarted clean once it crashed, or after a few seconds.
    /// </summary>
    CrashPoint,

    /// <summary>
    /// A power loss of a random member: restarted with its backend's commits kept in memory only (failure point
    /// <c>backend-wal=skip</c>), run for 1-3 s, killed with -9 (every commit since its last durability point is
    /// lost, as unsynced writes are at a power loss), and restarted clean: it must replay the rest from the Raft log.
    /// </summary>
    PowerLoss,

    /// <summary>
    /// A follower replaced: removed from the cluster (MemberRemove; it stops by itself), and a new member with a new
    /// name and an empty data directory added on its host (MemberAdd, then started with
    /// <c>--initial-cluster-state existing</c>), which catches up from the leader's log or snapshot.
    /// </summary>
    Replace,

    /// <summary>The leader cut from every peer while the clients still reach it, for three election timeouts (hosts only).</summary>
    IsolateLeader,

    /// <summary>A random minority cut from the rest, or with five hosts a bridge (two pairs that both reach one host), for 1-3 s (hosts only).</summary>
    Partition,

    /// <summary>20-40% of the packets a random host sends dropped, for 2-4 s (hosts only, nftables).</summary>
    PacketLoss,
}

/// <summary>
/// Injects faults on a seeded schedule into a <see cref="ProcessCluster"/> under traffic, one at a time with 1-2.5 s
/// of calm between them, and records each as a <see cref="FaultWindow"/> on the <see cref="Stopwatch"/> clock the
/// traffic uses. Every fault is undone before the next (members restarted, the network healed), and each run is
/// bounded by its count and its duration.
/// </summary>
/// <remarks><paramref name="tune"/> adjusts the flags of a member the injector adds (a replacement) as the run set its first members'.</remarks>
internal sealed class FaultInjector(ProcessCluster cluster, int seed, IReadOnlyList<FaultKind> kinds, IReadOnlyDictionary<string, string?>? environment = null,
    Func<IReadOnlyList<string>, IReadOnlyList<string>>? tune = null)
{
    // The points a CrashPoint fault may arm with a crash, each with the range of hits it fires on: one a write or an
    // apply passes (the WAL, the backend), one a snapshot or a compaction passes (rarer: fewer hits).
    private static readonly (string Point, int MinHit, int MaxHit)[] CrashPoints =
    [
        ("wal-before-save", 2, 30), ("wal-after-save", 2, 30),
        ("backend-before-commit", 2, 30), ("backend-after-commit", 2, 30),
        ("snapshot-before-publish", 1, 1), ("snapshot-after-publish", 1, 1),
        ("compaction-during", 1, 4),
    ];

    private readonly Random _random = new(seed);
    private readonly List<FaultWindow> _windows = [];
    private readonly List<string> _log = [];

    /// <summary>The faults injected so far.</summary>
    public IReadOnlyList<FaultWindow> Windows => _windows;

    /// <summary>One line per fault, for the test's output.</summary>
    public IReadOnlyList<string> Log => _log;

    /// <summary>Injects up to <paramref name="count"/> faults or until <paramref name="duration"/> has passed, whichever comes first.</summary>
    public async Task RunAsync(int count, TimeSpan duration)
    {
        if (kinds.Count == 0) throw new ArgumentException("no fault kinds", nameof(kinds));
        if (cluster.Network is null && kinds.Any(k => k is FaultKind.IsolateLeader or FaultKind.Partition or FaultKind.PacketLoss))
            throw new ArgumentException("network faults need a host network", nameof(kinds));
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (var i = 0; i < count && Stopwatch.GetTimestamp() < until; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(1_000, 2_500))).ConfigureAwait(false);
            var leader = await cluster.WaitForLeaderAsync().ConfigureAwait(false);
            var kind = kinds[_random.Next(kinds.Count)];
            var from = Stopwatch.GetTimestamp();
            var (target, what) = kind switch
            {
                FaultKind.Kill => await KillAsync(leader).ConfigureAwait(false),
                FaultKind.Pause => await PauseAsync(leader).ConfigureAwait(false),
                FaultKind.CrashPoint => await CrashPointAsync().ConfigureAwait(false),
                FaultKind.PowerLoss => await PowerLossAsync().ConfigureAwait(false),
                FaultKind.Replace => await ReplaceAsync(leader).ConfigureAwait(false),
                FaultKind.IsolateLeader => await IsolateAsync(leader).ConfigureAwait(false),
                FaultKind.Partition => await PartitionAsync().ConfigureAwait(false),
                _ => await LossAsync().ConfigureAwait(false),
            };
            _windows.Add(new FaultWindow(Name(kind), target, from, Stopwatch.GetTimestamp()));
            _log.Add(what);
        }
    }

    private static string Name(FaultKind kind) => kind switch
    {
        FaultKind.Kill => "kill -9",
        FaultKind.Pause => "SIGSTOP",
        FaultKind.CrashPoint => "failpoint",
        FaultKind.PowerLoss => "power loss",
        FaultKind.Replace => "replace member",
        FaultKind.IsolateLeader => "isolate leader",
        FaultKind.Partition => "partition",
        _ => "packet loss",
    };

    private MemberProcess RandomMember() => cluster.Members[_random.Next(cluster.Members.Count)];

    private static int HostOf(MemberProcess member) => member.Host?.Index ?? throw new InvalidOperationException($"{member.Name} runs on no host network");

    private MemberProcess OnHost(int host) => cluster.Members.Single(m => m.Host?.Index == host);

    private void Start(MemberProcess member, string? failPoints = null)
    {
        var variables = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>());
        if (failPoints is not null)
            variables[FailPointsVariable] = variables.GetValueOrDefault(FailPointsVariable) is { Length: > 0 } armed ? $"{armed};{failPoints}" : failPoints;
        if (variables.Count == 0) member.Start();
        else member.Start(variables);
    }

    private const string FailPointsVariable = "RAFTKV_FAILPOINTS";

    private async Task<(string, string)> KillAsync(MemberProcess leader)
    {
        var victim = RandomMember();
        victim.Kill();
        await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(200, 1_500))).ConfigureAwait(false);
        Start(victim);
        return (victim.Name, $"kill -9 {victim.Name}{(victim == leader ? " (leader)" : "")}");
    }

    private async Task<(string, string)> PauseAsync(MemberProcess leader)
    {
        leader.Pause();
        await Task.Delay(TimeSpan.FromMilliseconds(ProcessCluster.ElectionTimeoutMs * 3)).ConfigureAwait(false);
        leader.Resume();
        return (leader.Name, $"SIGSTOP {leader.Name} (leader)");
    }

    private const int SlowSeconds = 8;

    private async Task<(string, string)> CrashPointAsync()
    {
        var victim = RandomMember();
        var slow = _random.Next(4) == 0;
        string spec;
        if (slow)
        {
            spec = $"backend-before-commit=sleep({_random.Next(20, 100).ToString(CultureInfo.InvariantCulture)}ms)"; // a slow disk
        }
        else
        {
            var (point, min, max) = CrashPoints[_random.Next(CrashPoints.Length)];
            spec = $"{point}=crash@{_random.Next(min, max + 1).ToString(CultureInfo.InvariantCulture)}";
        }
        victim.Kill();
        Start(victim, spec);
        // A crash point fires within seconds under traffic (a start on a loaded machine takes a few), or not at all
        // (no snapshot, no compaction reached it).
        var exit = await victim.WaitForExitAsync(TimeSpan.FromSeconds(SlowSeconds)).ConfigureAwait(false);
        victim.Kill();
        Start(victim);
        var outcome = slow ? $"slow for {SlowSeconds} s" : exit is null ? $"did not fire within {SlowSeconds} s" : "crashed";
        return (victim.Name, $"{victim.Name} with {spec}: {outcome}");
    }

    private async Task<(string, string)> PowerLossAsync()
    {
        var victim = RandomMember();
        victim.Kill();
        Start(victim, "backend-wal=skip");
        await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(1_000, 3_000))).ConfigureAwait(false);
        victim.Kill();
        Start(victim);
        return (victim.Name, $"power loss of {victim.Name}");
    }

    private int _replacements;

    private async Task<(string, string)> ReplaceAsync(MemberProcess leader)
    {
        var followers = cluster.Members.Where(m => m != leader && m.IsRunning).ToArray();
        var victim = followers[_random.Next(followers.Length)];
        await ClusterMembership.RemoveAsync(cluster, victim).ConfigureAwait(false);

        var newcomer = cluster.AddMemberOnHostOf(victim, $"{victim.Name[0]}{(++_replacements).ToString(CultureInfo.InvariantCulture)}");
        if (tune is not null) newcomer.ExtraArgs = tune(newcomer.ExtraArgs);
        await ClusterMembership.AddAsync(cluster, newcomer).ConfigureAwait(false);
        Start(newcomer);
        return (victim.Name, $"replace {victim.Name} by {newcomer.Name}");
    }

    private async Task<(string, string)> IsolateAsync(MemberProcess leader)
    {
        await cluster.Network!.PartitionAsync([HostOf(leader)]).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromMilliseconds(ProcessCluster.ElectionTimeoutMs * 3)).ConfigureAwait(false);
        await cluster.Network.HealAsync().ConfigureAwait(false);
        return (leader.Name, $"isolate {leader.Name} (leader) from its peers");
    }

    private async Task<(string, string)> PartitionAsync()
    {
        var network = cluster.Network!;
        var hosts = Enumerable.Range(0, network.Count).OrderBy(_ => _random.Next()).ToArray();
        string what;
        if (network.Count >= 5 && _random.Next(2) == 0)
        {
            // A bridge: {a, b} and {d, e} cannot talk, c reaches all; each side with c is a majority.
            foreach (var a in hosts[..2])
            {
                foreach (var b in hosts[3..5]) await network.CutAsync(a, b).ConfigureAwait(false);
            }
            what = $"bridge {Names(hosts[..2])} | {Names(hosts[2..3])} | {Names(hosts[3..5])}";
        }
        else
        {
            var minority = hosts[..(1 + _random.Next((network.Count - 1) / 2))];
            await network.PartitionAsync(minority).ConfigureAwait(false);
            what = $"partition {Names(minority)} from the rest";
        }
        await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(1_000, 3_000))).ConfigureAwait(false);
        await network.HealAsync().ConfigureAwait(false);
        return ("network", what);
    }

    private async Task<(string, string)> LossAsync()
    {
        var network = cluster.Network!;
        var host = _random.Next(network.Count);
        var percent = _random.Next(20, 41);
        await network.LoseAsync(host, percent).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromMilliseconds(_random.Next(2_000, 4_000))).ConfigureAwait(false);
        await network.HealAsync().ConfigureAwait(false);
        return (OnHost(host).Name, $"{percent}% packet loss on {OnHost(host).Name}");
    }

    private string Names(IEnumerable<int> hosts) => string.Join(",", hosts.Select(h => OnHost(h).Name));
}
