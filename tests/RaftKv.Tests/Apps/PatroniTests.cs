using System.Diagnostics;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests.Apps;

/// <summary>
/// Patroni (PostgreSQL high availability, Debian patroni) with three PostgreSQL 15 nodes whose <c>etcd3</c> DCS is a
/// 3-member cluster: one primary and two streaming replicas come up, a row written on the primary reaches both
/// replicas, kill -9 of the primary's Patroni and PostgreSQL leads to a new primary (the time it takes is printed),
/// a row written there reaches the other replica, and the killed node, restarted, rejoins as a replica with that row.
/// Run against a real etcd 3.4 (so the test is known good) and against raftkv; Patroni talks to both only through
/// etcd's JSON gateway (<c>/version</c>, <c>/v3/kv/*</c>, <c>/v3/lease/*</c>, streaming <c>/v3/watch</c>).
/// </summary>
[Collection(AppsCollection.Name)]
public sealed class PatroniTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BootstrapMax = TimeSpan.FromSeconds(150); // initdb, then two pg_basebackups, on 2 shared cores
    private static readonly TimeSpan ReplicationMax = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FailoverMax = TimeSpan.FromSeconds(60); // ttl 10 s + loop_wait 1 s, with room for a loaded machine
    private static readonly TimeSpan RejoinMax = TimeSpan.FromSeconds(150); // crash recovery, pg_rewind or a new base backup

    [PatroniFact(onEtcd: true)]
    public Task Patroni_fails_over_on_etcd() => FailoverScenarioAsync(Backend.Etcd);

    [PatroniFact]
    public Task Patroni_fails_over_on_raftkv() => FailoverScenarioAsync(Backend.RaftKv);

    private async Task FailoverScenarioAsync(Backend kind)
    {
        var root = Path.Combine(Path.GetTempPath(), "raftkv-tests", "patroni-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        var scope = "apps-" + Path.GetFileName(root)[..12];
        var nodes = Enumerable.Range(0, 3).Select(i => new PatroniNode($"pg{i}", Path.Combine(root, $"pg{i}"))).ToArray();
        AppBackend? backend = null;
        string Diagnostics() => string.Join('\n', nodes.Select(n => n.OutputTail())) + "\n" + (backend?.Diagnostics() ?? "");
        try
        {
            backend = await AppBackend.StartAsync(kind);
            foreach (var n in nodes) await n.StartAsync(scope, backend.HostPorts);

            var primary = await WaitForPrimaryAndReplicasAsync(nodes, nodes, BootstrapMax, "bootstrap", Diagnostics);
            output.WriteLine($"{kind}: {primary.Name} is the primary; cluster {string.Join(", ", await primary.TryClusterAsync() ?? [])}");
            await PsqlOkAsync(primary, "CREATE TABLE apps_probe (id int PRIMARY KEY, note text); INSERT INTO apps_probe VALUES (1, 'before failover')");
            foreach (var replica in nodes.Where(n => n != primary))
                await WaitForRowAsync(replica, 1, "before failover", ReplicationMax, Diagnostics);

            var failover = Stopwatch.StartNew();
            await primary.KillAsync();
            var survivors = nodes.Where(n => n != primary).ToArray();
            var newPrimary = await Poll.UntilAsync(async () =>
            {
                foreach (var n in survivors)
                    if ((await n.TryStateAsync())?.IsPrimary == true) return n;
                return null;
            }, FailoverMax, $"a new primary among {string.Join(", ", survivors.Select(n => n.Name))} after kill -9 of {primary.Name}", Diagnostics);
            failover.Stop();
            output.WriteLine($"{kind}: failover {failover.Elapsed.TotalSeconds:F1} s (kill -9 of {primary.Name}'s Patroni and PostgreSQL to {newPrimary.Name} reporting itself primary)");

            await PsqlOkAsync(newPrimary, "INSERT INTO apps_probe VALUES (2, 'after failover')", FailoverMax);
            var other = survivors.Single(n => n != newPrimary);
            await WaitForRowAsync(other, 2, "after failover", ReplicationMax, Diagnostics);

            var rejoin = Stopwatch.StartNew();
            await primary.StartAsync(scope, backend.HostPorts);
            await WaitForRowAsync(primary, 2, "after failover", RejoinMax, Diagnostics);
            var final = await WaitForPrimaryAndReplicasAsync(nodes, survivors, RejoinMax, "the killed node back as a replica", Diagnostics);
            Assert.Same(newPrimary, final);
            output.WriteLine($"{kind}: {primary.Name} rejoined as a replica {rejoin.Elapsed.TotalSeconds:F1} s after its restart; cluster {string.Join(", ", await final.TryClusterAsync() ?? [])}");
            foreach (var line in primary.PatroniLogSinceStart().Take(30)) output.WriteLine($"{kind}: {primary.Name} | {line}");
        }
        catch
        {
            output.WriteLine(Diagnostics());
            throw;
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
            if (backend is not null) await backend.DisposeAsync();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// Waits until exactly one node (one of <paramref name="primaryCandidates"/>) reports itself primary, every other node a
    /// running replica, and the primary's PostgreSQL streams WAL to both replicas; returns the primary.
    /// </summary>
    private static Task<PatroniNode> WaitForPrimaryAndReplicasAsync(PatroniNode[] nodes, PatroniNode[] primaryCandidates, TimeSpan timeout, string what,
        Func<string> diagnostics) =>
        Poll.UntilAsync(async () =>
        {
            var states = await Task.WhenAll(nodes.Select(n => n.TryStateAsync()));
            if (states.Any(s => s is null)) return null;
            var primaries = nodes.Where((_, i) => states[i]!.IsPrimary && states[i]!.State == "running").ToArray();
            if (primaries.Length != 1 || !primaryCandidates.Contains(primaries[0])) return null;
            if (states.Count(s => s!.IsRunningReplica) != nodes.Length - 1) return null;
            var (code, streaming) = await primaries[0].PsqlAsync("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
            if (code != 0 || streaming.Trim() != (nodes.Length - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)) return null;
            // And the DCS agrees: the primary's /cluster (read from etcd or raftkv) shows it as leader and the others as running replicas.
            var view = await primaries[0].TryClusterAsync();
            if (view is null || view.Count != nodes.Length) return null;
            var leader = $"{primaries[0].Name}:leader:running";
            var replicas = view.Count(v => v.Split(':') is [_, "replica", "running" or "streaming"]);
            return view.Contains(leader) && replicas == nodes.Length - 1 ? primaries[0] : null;
        }, timeout, $"one primary and {nodes.Length - 1} streaming replicas ({what})", diagnostics);

    private static Task WaitForRowAsync(PatroniNode node, int id, string note, TimeSpan timeout, Func<string> diagnostics) =>
        Poll.UntilAsync(async () =>
        {
            var (code, text) = await node.PsqlAsync($"SELECT note FROM apps_probe WHERE id = {id}");
            return code == 0 && text.Trim() == note;
        }, timeout, $"row {id} ('{note}') on {node.Name}", diagnostics);

    /// <summary>Runs a write on the primary; retried (bounded) while PostgreSQL is still finishing its promotion.</summary>
    private static async Task PsqlOkAsync(PatroniNode primary, string sql, TimeSpan? timeout = null)
    {
        var last = "";
        await Poll.UntilAsync(async () =>
        {
            var (code, text) = await primary.PsqlAsync(sql);
            last = text;
            return code == 0;
        }, timeout ?? TimeSpan.FromSeconds(30), $"psql on {primary.Name}: {sql}", () => last);
    }
}

/// <summary>
/// A fact that needs Patroni and PostgreSQL 15 (Debian patroni, postgresql) and, for the etcd case, a real etcd (Debian
/// etcd-server); see <see cref="RequiresProgramFactAttribute"/> for when it skips or fails.
/// </summary>
public sealed class PatroniFactAttribute(bool onEtcd = false) : RequiresProgramFactAttribute(Needs(onEtcd))
{
    private static Requirement[] Needs(bool onEtcd) =>
    [
        new("patroni", "patroni", PatroniNode.PatroniPath),
        new("initdb", "postgresql", Path.Combine(PatroniNode.BinDir, "initdb")),
        new("postgres", "postgresql", Path.Combine(PatroniNode.BinDir, "postgres")),
        new("psql", "postgresql", Path.Combine(PatroniNode.BinDir, "psql")),
        .. onEtcd ? new Requirement[] { new("etcd", "etcd-server") } : [],
    ];
}
