using RaftKv.Robustness.Checking;
using RaftKv.Robustness.History;

namespace RaftKv.Robustness.Tests.Checking;

/// <summary>
/// Seeded histories that are linearizable by construction (each operation takes effect at a point inside its
/// interval, on a sequential model of etcd's store), then the same histories with one read made stale: the
/// checker must accept every original and reject every mutant. A failing seed is in the message.
/// </summary>
public sealed class GeneratedHistoryTests
{
    private const int Seeds = 200;

    private sealed record Generated(List<KvOperation> Operations, Dictionary<int, (string? Value, long ModRevision)> StateBeforeLastWrite, HashSet<int> TookEffect);

    [Fact]
    public void LinearizableByConstruction_IsAccepted()
    {
        for (var seed = 0; seed < Seeds; seed++)
        {
            var history = Generate(seed);
            var report = KvHistoryChecker.Check(history.Operations);
            Assert.True(report.Passed, $"seed {seed}: {report.Describe()}");
        }
    }

    [Fact]
    public void OneStaleRead_IsRejected()
    {
        var mutated = 0;
        for (var seed = 0; seed < Seeds; seed++)
        {
            var history = Generate(seed);
            // A read called after a write to its key returned, answered with the value from before that write.
            var candidate = history.Operations.FirstOrDefault(o => o.Input.Kind == KvOperationKind.Get && history.StateBeforeLastWrite.ContainsKey(o.Id));
            if (candidate is null) continue;
            var (value, modRevision) = history.StateBeforeLastWrite[candidate.Id];
            var stale = candidate with { Output = candidate.Output!.Value with { Value = value, ModRevision = modRevision } };
            var operations = history.Operations.Select(o => o.Id == candidate.Id ? stale : o).ToList();
            var report = KvHistoryChecker.Check(operations);
            Assert.True(report.Linearizable == Verdict.Illegal, $"seed {seed}: the stale {stale} was accepted\n{report.Describe()}\n" +
                string.Join('\n', operations.Where(o => o.Input.Key == stale.Input.Key)));
            mutated++;
        }
        Assert.True(mutated > Seeds / 4, $"only {mutated} of {Seeds} histories had a read to make stale");
    }

    [Fact]
    public void ALongHistoryOfOneKey_IsDecided()
    {
        // Lost writes that never took effect are left out, as the committed log would tell; the others stay unknown.
        var history = Generate(seed: 7, operationCount: 3000, keyCount: 1, lostPerMille: 20);
        var report = KvHistoryChecker.Check(history.Operations.Where(o => o.IsCompleted || history.TookEffect.Contains(o.Id)).ToList());
        Assert.True(report.Passed, report.Describe());
        Assert.True(report.Keys[0].Steps < LinearizabilityChecker.DefaultStepBudget / 10, $"{report.Keys[0].Steps} steps");
    }

    // 4 clients; lostPerMille of the writes lose their answer (and took effect or not).
    private static Generated Generate(int seed, int operationCount = 40, int keyCount = 3, int lostPerMille = 100)
    {
        var random = new Random(seed);
        var keys = Enumerable.Range(0, keyCount).Select(k => ((char)('a' + k)).ToString()).ToArray();
        var planned = new List<(int Client, long Call, long Point, long Return, KvInput Input, bool Lost, bool Happens)>();
        var free = new long[4];
        for (var i = 0; i < operationCount; i++)
        {
            var client = random.Next(free.Length);
            var call = free[client] + random.Next(0, 4);
            var point = call + random.Next(1, 6);
            var ret = point + random.Next(1, 6);
            free[client] = ret;
            var key = keys[random.Next(keys.Length)];
            var input = random.Next(10) switch
            {
                < 4 => new KvInput(KvOperationKind.Get, key),
                < 7 => new KvInput(KvOperationKind.Put, key, $"v{i}"),
                < 8 => new KvInput(KvOperationKind.Delete, key),
                _ => new KvInput(KvOperationKind.CompareAndPut, key, $"v{i}", random.Next(0, 8)),
            };
            var lost = input.IsWrite && random.Next(1000) < lostPerMille;
            planned.Add((client, call, point, ret, input, lost, !lost || random.Next(2) == 0));
        }
        // Apply in the order of the points at which the operations take effect.
        var state = keys.ToDictionary(k => k, _ => ((string?)null, 0L));
        var revision = 1L;
        var outputs = new KvOutput?[planned.Count];
        var order = Enumerable.Range(0, planned.Count).OrderBy(i => planned[i].Point).ThenBy(i => i).ToArray();
        // For each read: the key's state before the last write that returned before the read was called, if any.
        var history = new List<(int Op, long Point, string Key, (string?, long) Before, bool Changed)>();
        foreach (var i in order)
        {
            var p = planned[i];
            var (value, mod) = state[p.Input.Key];
            KvOutput output;
            var before = (value, mod);
            var changed = false;
            if (!p.Happens)
            {
                outputs[i] = null;
                continue;
            }
            switch (p.Input.Kind)
            {
                case KvOperationKind.Get:
                    output = new KvOutput(revision, value, mod);
                    break;
                case KvOperationKind.Put:
                    state[p.Input.Key] = (p.Input.Value, ++revision);
                    output = new KvOutput(revision);
                    changed = true;
                    break;
                case KvOperationKind.Delete:
                    changed = value is not null;
                    if (changed) state[p.Input.Key] = (null, 0);
                    output = new KvOutput(changed ? ++revision : revision, Succeeded: changed);
                    break;
                default:
                    changed = mod == p.Input.ExpectedModRevision;
                    if (changed) state[p.Input.Key] = (p.Input.Value, ++revision);
                    output = new KvOutput(revision, Succeeded: changed);
                    break;
            }
            outputs[i] = p.Lost ? null : output;
            history.Add((i, p.Point, p.Input.Key, before, changed));
        }
        var operations = planned.Select((p, i) => new KvOperation(i, p.Client, p.Call, p.Return, p.Input, p.Lost ? null : outputs[i])).ToList();
        var staleStates = new Dictionary<int, (string?, long)>();
        foreach (var read in operations.Where(o => o.Input.Kind == KvOperationKind.Get))
        {
            // The last acknowledged change to the key that returned before the read was called.
            var write = history.Where(h => h.Changed && h.Key == read.Input.Key && !planned[h.Op].Lost && planned[h.Op].Return < read.CallTime)
                .OrderBy(h => h.Point).LastOrDefault();
            // Only a value can be made stale for sure: absence comes back with any delete that races the read, while
            // a value at its mod revision never comes back once overwritten (every write has a revision of its own).
            if (write.Key is null || write.Before.Item1 is null) continue;
            staleStates[read.Id] = write.Before;
        }
        return new Generated(operations, staleStates, [.. history.Select(h => h.Op)]);
    }
}
