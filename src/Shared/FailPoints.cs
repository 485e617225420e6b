using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace RaftKv;

/// <summary>
/// The named failure points compiled into the binary (issues 12 and 16). Each is one <see cref="FailPoints.Hit"/>
/// call at the place its comment names; its name in <c>RAFTKV_FAILPOINTS</c> is the member's name in kebab case
/// (<see cref="WalAfterSave"/> is <c>wal-after-save</c>). This enum is the one list of them.
/// </summary>
internal enum FailPoint
{
    /// <summary>DurableStorage.Save: a Ready's snapshot, entries or hard state are about to be written (nothing of it is on disk).</summary>
    WalBeforeSave,

    /// <summary>DurableStorage.Save: they were written and synced, before the log in memory has them (before the host sends or applies).</summary>
    WalAfterSave,

    /// <summary>KvBackend.Commit: before the atomic RocksDB write of one applied entry's changes and its index.</summary>
    BackendBeforeCommit,

    /// <summary>KvBackend.Commit: after that write (not fsynced: RocksDB's WAL is in the page cache), before the applier returns.</summary>
    BackendAfterCommit,

    /// <summary>SnapshotStore.Stage: a snapshot file is half written (the header only), under its temporary name.</summary>
    SnapshotDuringStage,

    /// <summary>SnapshotStore.Publish: a snapshot file is written and verified, before the rename that publishes it (also a follower's received one).</summary>
    SnapshotBeforePublish,

    /// <summary>SnapshotStore.Publish: after that rename and the directory sync, before the log is compacted (or a received snapshot logged).</summary>
    SnapshotAfterPublish,

    /// <summary>PeerSender.WriteBodyAsync: the leader is about to send one chunk of a snapshot's body (a payload: the streamed store).</summary>
    SnapshotSendChunk,

    /// <summary>SnapshotReceiver.ReadBodyAsync: a follower checked one received chunk and is about to hand it on (to the store's staging).</summary>
    SnapshotReceiveChunk,

    /// <summary>StateDirectory.Promote: a received backend is complete and durable in its staging directory, before it is switched in.</summary>
    SnapshotBeforeSwitch,

    /// <summary>StateDirectory.Promote: CURRENT names the received backend and is synced, before the store opens it and Raft saves the snapshot.</summary>
    SnapshotAfterSwitch,

    /// <summary>RaftHost.HandleReady: a snapshot from the leader is saved with the log, before the state machine restores from it.</summary>
    SnapshotBeforeRestore,

    /// <summary>DiskApplyState.Compact: an MVCC compaction has put its deletions in the entry's batch, before the batch is committed.</summary>
    CompactionDuring,

    /// <summary>KvBackend.CompactAll: before RocksDB compacts the whole key space (etcdctl defrag).</summary>
    DefragDuring,

    /// <summary>
    /// KvBackend's constructor: armed with <c>skip</c>, commits leave out RocksDB's WAL (they live in the memtable
    /// until RocksDB flushes it) and FlushDurable flushes the memtable instead of syncing the WAL. A kill -9 then
    /// loses every commit not yet made durable, as a power loss may: the robustness suite's power-loss fault.
    /// </summary>
    BackendWal,

    /// <summary>
    /// KvProposer.ReadBarrierAsync: armed with <c>skip</c>, a linearizable read is served from this member's state
    /// without ReadIndex, as a serializable one: a planted bug, so the robustness suite can show it catches stale reads.
    /// </summary>
    ReadBarrier,
}

/// <summary>
/// Failure points armed only by the environment variable <c>RAFTKV_FAILPOINTS</c>, read once per process, e.g.
/// <c>wal-after-save=crash;backend-before-commit=sleep(200ms);snapshot-send-chunk=crash@3</c>: <c>crash</c> writes
/// one line naming the point to standard error and kills the process with SIGKILL (as kill -9: nothing is flushed,
/// no finalizer or exit handler runs); <c>sleep(N ms)</c> (or <c>sleep(N s)</c>) stalls the calling thread;
/// <c>skip</c> makes <see cref="Skips"/> true at a point that guards a step the code may leave out (a planted bug);
/// an <c>@N</c> suffix fires on the Nth hit only instead of on every hit.
/// </summary>
/// <remarks>
/// Unarmed, <see cref="Hit"/> is one test of a static readonly bool (a constant once the JIT has tiered the caller
/// up): no allocation, no lookup. The source is compiled into each assembly that has a point (as Crc32C.cs is), so
/// each holds its own copy of the state; a point fires in one assembly only, so its hit count is exact. A spec with
/// an unknown name or a bad action arms nothing: <c>raftkv serve</c> refuses to start on <see cref="Problem"/>, and a
/// point hit anyway throws, so a typo cannot make a test pass vacuously.
/// </remarks>
internal static class FailPoints
{
    /// <summary>The environment variable that arms failure points.</summary>
    public const string EnvironmentVariable = "RAFTKV_FAILPOINTS";

    private static readonly FailPoint[] All = Enum.GetValues<FailPoint>();

    // Null unless the variable arms at least one point; indexed by FailPoint.
    private static readonly Arm?[]? Arms = Load(Environment.GetEnvironmentVariable(EnvironmentVariable), out Problem);

    /// <summary>Why the variable's spec is refused, or null (unset, empty or valid).</summary>
    public static readonly string? Problem;

    private static readonly bool Armed = Arms is not null || Problem is not null;

    /// <summary>Every point's name, in the enum's order.</summary>
    public static IEnumerable<string> Names => All.Select(NameOf);

    /// <summary>The points the variable arms, as "name=action" for a startup log line; empty when none.</summary>
    public static string Describe() =>
        Arms is null ? "" : string.Join(";", All.Where(p => Arms[(int)p] is not null).Select(p => $"{NameOf(p)}={Arms[(int)p]!.Text}"));

    /// <summary>Fires <paramref name="point"/> if the variable armed it (see the type); otherwise does nothing, at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(FailPoint point)
    {
        if (Armed) Fire(point);
    }

    /// <summary>
    /// Whether <paramref name="point"/> is armed with <c>skip</c> (and fires on this hit): the caller then leaves
    /// out the step the point guards. Unarmed, false at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Skips(FailPoint point) => Armed && FireSkip(point);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool FireSkip(FailPoint point)
    {
        if (Problem is not null) throw new InvalidOperationException(Problem);
        if (Arms![(int)point] is not { Skip: true } arm) return false;
        var hit = Interlocked.Increment(ref arm.Hits);
        if (arm.OnHit != 0 && hit != arm.OnHit) return false;
        if (hit == 1 || hit == arm.OnHit) Console.Error.WriteLine($"raftkv: failpoint {NameOf(point)} fired (hit {hit}): skipping the step it guards");
        return true;
    }

    /// <summary>The point's name in the variable: the member's name in kebab case.</summary>
    public static string NameOf(FailPoint point)
    {
        var text = point.ToString();
        var name = new StringBuilder(text.Length + 4);
        foreach (var c in text)
        {
            if (char.IsUpper(c) && name.Length > 0) name.Append('-');
            name.Append(char.ToLowerInvariant(c));
        }
        return name.ToString();
    }

    /// <summary>Parses a spec (see the type); null arms nothing. Returns null with <paramref name="problem"/> set when it is refused.</summary>
    internal static Arm?[]? Load(string? spec, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(spec)) return null;
        var arms = new Arm?[All.Length];
        foreach (var part in spec.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? part : part[..equals].Trim();
            var point = Array.FindIndex(All, p => NameOf(p) == name);
            if (point < 0)
            {
                problem = $"{EnvironmentVariable}: unknown failure point '{name}'; the known points are {string.Join(", ", Names)}";
                return null;
            }
            if (equals < 0 || Arm.Parse(part[(equals + 1)..].Trim()) is not { } arm)
            {
                problem = $"{EnvironmentVariable}: '{part}' is not name=crash, name=sleep(N ms) or name=skip, optionally followed by @N (the Nth hit only)";
                return null;
            }
            arms[point] = arm;
        }
        return arms;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Fire(FailPoint point)
    {
        if (Problem is not null) throw new InvalidOperationException(Problem);
        if (Arms![(int)point] is not { Skip: false } arm) return;
        var hit = Interlocked.Increment(ref arm.Hits);
        if (arm.OnHit != 0 && hit != arm.OnHit) return;
        if (arm.SleepMs is { } sleepMs)
        {
            Console.Error.WriteLine($"raftkv: failpoint {NameOf(point)} fired (hit {hit}): sleeping {sleepMs} ms");
            Thread.Sleep(sleepMs);
            return;
        }
        // Console.Error flushes every write: the line is out before the process goes.
        Console.Error.WriteLine($"raftkv: failpoint {NameOf(point)} fired (hit {hit}): crashing");
        using (var self = Process.GetCurrentProcess()) self.Kill();
        Environment.FailFast($"failpoint {NameOf(point)}: SIGKILL did not end the process");
    }

    /// <summary>One armed point: crash, sleep <see cref="SleepMs"/>, or <see cref="Skip"/>; on every hit, or on hit <see cref="OnHit"/> only.</summary>
    internal sealed class Arm(string text, int? sleepMs, long onHit, bool skip = false)
    {
        public long Hits;

        public bool Skip { get; } = skip;

        public string Text { get; } = text;

        public int? SleepMs { get; } = sleepMs;

        public long OnHit { get; } = onHit;

        public static Arm? Parse(string text)
        {
            var at = text.IndexOf('@', StringComparison.Ordinal);
            var action = (at < 0 ? text : text[..at]).Trim();
            long onHit = 0;
            if (at >= 0 && (!long.TryParse(text[(at + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out onHit) || onHit < 1)) return null;
            if (action == "crash") return new Arm(text, null, onHit);
            if (action == "skip") return new Arm(text, null, onHit, skip: true);
            if (!action.StartsWith("sleep(", StringComparison.Ordinal) || !action.EndsWith(')')) return null;
            var duration = action["sleep(".Length..^1].Trim();
            var scale = 1;
            if (duration.EndsWith("ms", StringComparison.Ordinal)) duration = duration[..^2];
            else if (duration.EndsWith('s'))
            {
                duration = duration[..^1];
                scale = 1000;
            }
            if (!int.TryParse(duration.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount > int.MaxValue / scale) return null;
            return new Arm(text, amount * scale, onHit);
        }
    }
}
