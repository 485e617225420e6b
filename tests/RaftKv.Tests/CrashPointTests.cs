using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests;

/// <summary>
/// Crash tests at every step of apply, snapshot creation, snapshot send and receive, and the switch to a received
/// store (issue 12): one member runs with a named failure point armed (<c>RAFTKV_FAILPOINTS</c>, src/Shared/FailPoints.cs),
/// dies there as by kill -9 while a client writes, restarts unarmed, and must then hold what the others hold (equal
/// HashKV at one revision) and every acknowledged write. The point's own stderr line is required, so a point that
/// never fires fails its test instead of passing without a crash.
/// </summary>
public sealed class CrashPointTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan CrashBound = TimeSpan.FromSeconds(60);

    private readonly List<ProcessCluster> _clusters = [];

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    /// <summary>
    /// A member armed at a step of its own apply path (log save, backend commit, snapshot creation, compaction,
    /// defragmentation) while clients write through the others, compact, and defragment it. A follower at every
    /// point; the leader too where its order differs (it sends before it saves, and answers the client after its
    /// commit). Counts let a few writes land before the crash; with --snapshot-count 10 (compaction-during and the backend
    /// commit points aside, see below) a snapshot is taken every 10 entries.
    /// </summary>
    [Theory]
    [InlineData("wal-before-save", "crash@40", false)]
    [InlineData("wal-after-save", "crash@40", false)]
    [InlineData("backend-before-commit", "crash@30", false)]
    [InlineData("backend-after-commit", "crash@30", false)]
    [InlineData("snapshot-during-stage", "crash@3", false)]
    [InlineData("snapshot-before-publish", "crash@3", false)]
    [InlineData("snapshot-after-publish", "crash@3", false)]
    [InlineData("compaction-during", "crash", false)]
    [InlineData("defrag-during", "crash", false)]
    [InlineData("wal-before-save", "crash@40", true)]
    [InlineData("wal-after-save", "crash@40", true)]
    [InlineData("backend-after-commit", "crash@30", true)]
    public async Task AMemberCrashedInItsApplyPath_RestartsWithTheOthersState(string point, string action, bool onLeader)
    {
        // compaction-during and the backend commit points fire only where entries are applied from the log; with a
        // snapshot every 10 entries a follower that lags under load catches up by streamed stores, not by the log, and
        // never applies one (CI runs: 2,000 writes, 100 compactions, the follower restored 200 snapshots and no
        // compaction entry; and a follower armed at backend-after-commit restored 147 snapshots and committed no batch).
        var snapshotCount = point is "compaction-during" or "backend-before-commit" or "backend-after-commit" ? "10000" : "10";
        await using var cluster = Create(3, "--snapshot-count", snapshotCount);
        var victim = cluster.Members[2];
        cluster.Members[0].Start();
        cluster.Members[1].Start();
        victim.Start(Armed(point, action));
        await EnsureLeaderAsync(cluster, onLeader ? victim : cluster.Members[0]);

        using var writer = new Writer(cluster, exclude: victim);
        for (var i = 0; victim.IsRunning || i % 20 != 0; i++)
        {
            Assert.True(i < 2000, $"{point} did not fire within 2000 writes:\n{cluster.Diagnostics()}");
            var revision = await writer.PutAsync($"w/{i:D4}", $"v{i}");
            if (i % 20 == 19)
            {
                await writer.CompactAsync(revision - 5);
                await TryDefragmentAsync(victim);
            }
        }

        await AssertCrashedAtAsync(victim, point, cluster);
        victim.Start();
        await AssertConvergedAsync(cluster, writer, victim);
    }

    /// <summary>
    /// A follower that was down while the leader compacted its log catches up by a streamed store (see
    /// SnapshotCatchUpTests); the failure point is armed on the sender (the leader) or on the receiver, at each step
    /// of the transfer, the switch of the state root, and the saving of the Raft snapshot that follows it.
    /// </summary>
    [Theory]
    [InlineData("snapshot-send-chunk", true)]
    [InlineData("snapshot-receive-chunk", false)]
    [InlineData("snapshot-before-switch", false)]
    [InlineData("snapshot-after-switch", false)]
    [InlineData("snapshot-before-publish", false)]
    [InlineData("snapshot-after-publish", false)]
    [InlineData("snapshot-before-restore", false)]
    public async Task ACrashDuringCatchUpBySnapshot_LeavesEveryMemberWithTheSameState(string point, bool onLeader)
    {
        await using var cluster = Create(3, "--snapshot-count", "100");
        var leader = cluster.Members[0];
        var behind = cluster.Members[2];
        if (onLeader) leader.Start(Armed(point, "crash"));
        else leader.Start();
        cluster.Members[1].Start();
        behind.Start();
        await EnsureLeaderAsync(cluster, leader);
        behind.Kill();

        using var writer = new Writer(cluster, exclude: null);
        var value = new string('x', 1024);
        var keys = Enumerable.Range(0, 600).Select(i => $"s/{i:D4}").ToArray();
        await Task.WhenAll(Enumerable.Range(0, 10).Select(async worker =>
        {
            for (var i = worker; i < keys.Length; i += 10) await writer.PutAsync(keys[i], value);
        }));

        var victim = onLeader ? leader : behind;
        if (onLeader) behind.Start();
        else behind.Start(Armed(point, "crash"));
        // Writes go on (up to 200) during the transfer, the crash and the restart: the leader's log moves past the snapshot.
        using var stopWrites = new CancellationTokenSource();
        var during = Task.Run(async () =>
        {
            for (var i = 0; i < 200 && !stopWrites.IsCancellationRequested; i++) await writer.PutAsync($"c/{i:D4}", $"v{i}");
        });
        await AssertCrashedAtAsync(victim, point, cluster);
        victim.Start();
        await stopWrites.CancelAsync();
        await during;
        await AssertConvergedAsync(cluster, writer, behind);
        // It caught up by switching to a received store, not by replaying the log (which the leader no longer has).
        var current = File.ReadAllText(Path.Combine(behind.DataDir, "member", "state", "CURRENT")).Trim();
        Assert.NotEqual("backend-0", current);
    }

    [Fact]
    public void AnUnknownPointOrAction_IsRefusedNamingTheKnownPoints()
    {
        Assert.Null(FailPoints.Load("wal-after-save=crash;wal-afer-save=crash", out var problem));
        Assert.Contains("unknown failure point 'wal-afer-save'", problem);
        foreach (var name in FailPoints.Names) Assert.Contains(name, problem);
        Assert.Null(FailPoints.Load("wal-after-save=explode", out problem));
        Assert.Contains("'wal-after-save=explode' is not name=crash", problem);
        Assert.Null(FailPoints.Load("wal-after-save=crash@0", out problem));
        Assert.NotNull(problem);
        Assert.Null(FailPoints.Load("", out problem));
        Assert.Null(problem);
    }

    [Fact]
    public void ASpec_ArmsEachNamedPointWithItsAction()
    {
        var arms = FailPoints.Load(" wal-after-save=crash ; backend-before-commit=sleep(200ms);snapshot-send-chunk=crash@3;defrag-during=sleep(2s)@2", out var problem);
        Assert.Null(problem);
        Assert.NotNull(arms);
        Assert.Equal(Enum.GetValues<FailPoint>().Length, arms.Length);
        Assert.Equal((null, 0L), (arms[(int)FailPoint.WalAfterSave]!.SleepMs, arms[(int)FailPoint.WalAfterSave]!.OnHit));
        Assert.Equal((200, 0L), (arms[(int)FailPoint.BackendBeforeCommit]!.SleepMs, arms[(int)FailPoint.BackendBeforeCommit]!.OnHit));
        Assert.Equal((null, 3L), (arms[(int)FailPoint.SnapshotSendChunk]!.SleepMs, arms[(int)FailPoint.SnapshotSendChunk]!.OnHit));
        Assert.Equal((2000, 2L), (arms[(int)FailPoint.DefragDuring]!.SleepMs, arms[(int)FailPoint.DefragDuring]!.OnHit));
        Assert.Null(arms[(int)FailPoint.WalBeforeSave]);
        Assert.Equal("snapshot-receive-chunk", FailPoints.NameOf(FailPoint.SnapshotReceiveChunk));
        var skip = FailPoints.Load("read-barrier=skip", out problem);
        Assert.Null(problem);
        Assert.True(skip![(int)FailPoint.ReadBarrier]!.Skip);
        Assert.False(arms[(int)FailPoint.WalAfterSave]!.Skip);
    }

    [Fact]
    public async Task Serve_RefusesToStartOnAnUnknownPoint()
    {
        var root = Path.Combine(Path.GetTempPath(), "raftkv-tests", Guid.NewGuid().ToString("n"));
        try
        {
            var (exitCode, output) = await RaftKvBinary.RunAsync(
                ["serve", "--data-dir", root, "--listen-client-urls", $"http://127.0.0.1:{FreePorts.Next()}", "--listen-peer-urls", $"http://127.0.0.1:{FreePorts.Next()}"],
                TimeSpan.FromSeconds(30), Armed("wal-afer-save", "crash"));
            Assert.Equal(2, exitCode);
            Assert.Contains("unknown failure point 'wal-afer-save'; the known points are wal-before-save, wal-after-save", output);
            Assert.False(Directory.Exists(root), "nothing may be created before the refusal");
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A sleep point only delays: the member serves as usual, and says each time it fired.</summary>
    [Fact]
    public async Task ASleepPoint_DelaysButTheMemberServesAsUsual()
    {
        await using var cluster = Create(1);
        var member = cluster.Members[0];
        member.Start(Armed("backend-before-commit", "sleep(20ms)"));
        await cluster.WaitForLeaderAsync();
        using var writer = new Writer(cluster, exclude: null);
        for (var i = 0; i < 5; i++) await writer.PutAsync($"k{i}", "v");
        using var client = new EtcdClient(member.ClientUrl);
        Assert.Equal(5, (await client.GetAsync(new RangeRequest { Key = B("k"), RangeEnd = B("l"), CountOnly = true })).Count);
        Assert.True(member.IsRunning);
        Assert.Contains(member.Output, l => l.Contains("failure points armed by RAFTKV_FAILPOINTS: backend-before-commit=sleep(20ms)", StringComparison.Ordinal));
        Assert.Contains(member.Output, l => l.Contains("failpoint backend-before-commit fired (hit 5): sleeping 20 ms", StringComparison.Ordinal));
    }

    /// <summary>A cluster logging at info (the framework's request lines would crowd the bounded output out), printed when the test fails.</summary>
    private ProcessCluster Create(int size, params string[] flags)
    {
        var cluster = ProcessCluster.Create(size);
        foreach (var m in cluster.Members) m.ExtraArgs = [.. m.ExtraArgs.Select(a => a == "debug" ? "info" : a), .. flags];
        _clusters.Add(cluster);
        return cluster;
    }

    /// <summary>Every member's whole output, for the report of a failed test (xunit shows it only then).</summary>
    public void Dispose()
    {
        foreach (var m in _clusters.SelectMany(c => c.Members))
        {
            foreach (var line in m.Output) output.WriteLine($"{m.Name} | {line}");
        }
    }

    private static Dictionary<string, string?> Armed(string point, string action) => new() { ["RAFTKV_FAILPOINTS"] = $"{point}={action}" };

    /// <summary>Waits for a leader and moves leadership to <paramref name="wanted"/> if another member has it.</summary>
    private static async Task EnsureLeaderAsync(ProcessCluster cluster, MemberProcess wanted)
    {
        await Poll.UntilAsync(async () =>
        {
            var leader = await cluster.WaitForLeaderAsync();
            if (leader == wanted) return true;
            var target = Convert.ToUInt64((await wanted.TryStatusAsync())!.Id, 16);
            using var client = new EtcdClient(leader.ClientUrl);
            try
            {
                // Refused or aborted while the target is still catching up just after the start: try again.
                await client.MoveLeaderAsync(new MoveLeaderRequest { TargetID = target }, deadline: DateTime.UtcNow.AddSeconds(5));
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
            }
            return false;
        }, ProcessCluster.ElectionBound, $"{wanted.Name} leading", cluster.Diagnostics);
    }

    private static async Task TryDefragmentAsync(MemberProcess member)
    {
        if (!member.IsRunning) return;
        using var client = new EtcdClient(member.ClientUrl);
        try
        {
            await client.DefragmentAsync(new DefragmentRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            // it crashed there (defrag-during), or is busy: the writes go on
        }
    }

    private static async Task AssertCrashedAtAsync(MemberProcess victim, string point, ProcessCluster cluster)
    {
        var exitCode = await victim.WaitForExitAsync(CrashBound);
        Assert.True(exitCode is not null, $"{victim.Name} did not crash at {point} within {CrashBound.TotalSeconds} s:\n{cluster.Diagnostics()}");
        Assert.True(victim.Output.Any(l => l.Contains($"failpoint {point} fired", StringComparison.Ordinal)),
            $"{victim.Name} exited ({exitCode}) without {point} firing:\n{victim.OutputTail(60)}");
        Assert.Equal(137, exitCode); // 128 + SIGKILL: as kill -9
    }

    /// <summary>After one more write: HashKV equal on every member at its revision, and every acknowledged write on <paramref name="restarted"/>.</summary>
    private static async Task AssertConvergedAsync(ProcessCluster cluster, Writer writer, MemberProcess restarted)
    {
        var revision = await writer.PutAsync("last", "x");
        var hashes = await HashKv.OfEveryMemberAsync(cluster, revision, TimeSpan.FromSeconds(90), "every member at the last write");
        Assert.Single(hashes.Select(h => h.Hash).Distinct());
        foreach (var m in new[] { restarted, cluster.Members[1] })
        {
            using var client = new EtcdClient(m.ClientUrl);
            var range = await client.GetAsync(new RangeRequest { Key = B("\0"), RangeEnd = B("\0"), Revision = revision, Serializable = true });
            var held = range.Kvs.ToDictionary(kv => kv.Key.ToStringUtf8(), kv => kv.Value.ToStringUtf8());
            var missing = writer.Acknowledged.Where(w => !held.TryGetValue(w.Key, out var v) || v != w.Value).Select(w => w.Key).ToArray();
            Assert.True(missing.Length == 0, $"{m.Name} lacks {missing.Length} of {writer.Acknowledged.Count} acknowledged writes, e.g. {string.Join(", ", missing.Take(5))}");
        }
    }

    /// <summary>
    /// Writes through the running members (other than an excluded one), retrying a failed write on the next: the
    /// same key and value, so a write that took effect unacknowledged and then again leaves the same state.
    /// </summary>
    private sealed class Writer(ProcessCluster cluster, MemberProcess? exclude) : IDisposable
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<MemberProcess, EtcdClient> _clients = [];
        private int _next;

        public Dictionary<string, string> Acknowledged { get; } = [];

        public Task<long> PutAsync(string key, string value) => RetryAsync(async client =>
        {
            var put = await client.PutAsync(new PutRequest { Key = B(key), Value = B(value) }, deadline: DateTime.UtcNow.AddSeconds(5));
            lock (_lock) Acknowledged[key] = value;
            return put.Header.Revision;
        }, $"put {key}");

        public Task CompactAsync(long revision) => RetryAsync(async client =>
        {
            try
            {
                await client.CompactAsync(new CompactionRequest { Revision = revision }, deadline: DateTime.UtcNow.AddSeconds(5));
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.OutOfRange)
            {
                // compacted already: an earlier attempt took effect unanswered
            }
            return 0L;
        }, $"compact {revision}");

        public void Dispose()
        {
            foreach (var client in _clients.Values) client.Dispose();
        }

        private EtcdClient ClientOf(MemberProcess member)
        {
            lock (_lock)
            {
                if (!_clients.TryGetValue(member, out var client)) _clients[member] = client = new EtcdClient(member.ClientUrl);
                return client;
            }
        }

        private async Task<long> RetryAsync(Func<EtcdClient, Task<long>> call, string what)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            Exception? last = null;
            while (DateTime.UtcNow < deadline)
            {
                var members = cluster.Members.Where(m => m != exclude && m.IsRunning).ToArray();
                if (members.Length > 0)
                {
                    var member = members[(int)((uint)Volatile.Read(ref _next) % members.Length)];
                    try
                    {
                        return await call(ClientOf(member));
                    }
                    catch (Exception e) when (e is RpcException or OperationCanceledException)
                    {
                        last = e;
                        Interlocked.Increment(ref _next);
                    }
                }
                await Task.Delay(50);
            }
            throw new TimeoutException($"{what} failed on every member for 60 s (last: {last?.Message}):\n{cluster.Diagnostics()}");
        }
    }
}
