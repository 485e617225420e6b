using RaftKv.Raft.Storage.Tests.Support;
using Xunit.Abstractions;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>
/// Seeded random sequences of appends, truncations, commits, snapshots (taken and received) and reopens, checked
/// after every step against <see cref="MemoryStorage"/>, the core's reference implementation of the same contract.
/// Rerun one seed with RAFT_STORAGE_SEED=&lt;seed&gt;.
/// </summary>
public sealed class PropertyTests(ITestOutputHelper output)
{
    [Fact]
    public void Random_operations_and_reopens_match_the_in_memory_model()
    {
        var only = Environment.GetEnvironmentVariable("RAFT_STORAGE_SEED");
        var seeds = only is null ? Enumerable.Range(1, 16).ToArray() : [int.Parse(only, System.Globalization.CultureInfo.InvariantCulture)];
        foreach (var seed in seeds) RunSeed(seed, steps: 150);
    }

    private void RunSeed(int seed, int steps)
    {
        using var dir = new TempDirectory();
        var random = new Random(seed);
        var options = TestOptions.Small(preallocate: seed % 2 == 0) with { SnapshotsToRetain = 1 + seed % 3 };
        var workload = new RandomWorkload(random);
        var model = new MemoryStorage();
        var storage = DurableStorage.Open(dir.Path, options);
        var trace = new List<string>();
        try
        {
            for (var step = 0; step < steps; step++)
            {
                var roll = random.NextDouble();
                if (roll < 0.1)
                {
                    storage.Dispose();
                    storage = DurableStorage.Open(dir.Path, options);
                    trace.Add("reopen");
                }
                else if (roll < 0.13)
                {
                    // A save that would leave a gap is refused and changes nothing.
                    var before = LogAssert.Describe(storage);
                    Assert.Throws<RaftInvariantException>(() => storage.Save(null, Data.Entries(storage.LastIndex + 2, 1, storage.HardState.Term, random), null, true));
                    Assert.Equal(before, LogAssert.Describe(storage));
                    trace.Add("rejected gap");
                }
                else
                {
                    trace.Add(workload.Step(storage, model).What);
                }
                LogAssert.Same(model, storage, $"after step {step} ({trace[^1]})");
            }
            storage.Dispose();
            storage = DurableStorage.Open(dir.Path, options);
            LogAssert.Same(model, storage, "after the final reopen");
            Assert.True(storage.SegmentPaths.Count <= 64, $"{storage.SegmentPaths.Count} segments left: compaction does not release them");
        }
        catch (Exception e)
        {
            output.WriteLine($"seed {seed} failed; last steps:\n  " + string.Join("\n  ", trace.TakeLast(15)));
            throw new InvalidOperationException($"seed {seed} failed (rerun with RAFT_STORAGE_SEED={seed}): {e.Message}", e);
        }
        finally
        {
            storage.Dispose();
        }
    }
}
