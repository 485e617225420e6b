using System.Globalization;
using System.Text;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// Views and checkpoints taken while another thread commits: each must show one whole batch state, its counter
/// equal to its applied index. Bounded by batch count, not by time.
/// </summary>
public sealed class ConcurrentReadTests
{
    private const ulong Batches = 3_000;

    [Fact]
    public async Task Views_and_checkpoints_taken_during_commits_match_their_applied_index()
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Sub("db"), KvBackendOptions.Default with { BlockCacheSizeBytes = 8L << 20 });
        var writer = Task.Run(() =>
        {
            using var batch = new BackendBatch();
            for (ulong n = 1; n <= Batches; n++)
            {
                CrashWriter.Fill(batch, n);
                backend.Commit(batch, n);
            }
        });
        var checkpoints = 0;
        for (var round = 0; round < 200 && (!writer.IsCompleted || round == 0); round++)
        {
            using (var view = backend.OpenView())
            {
                AssertConsistent(view);
            }
            if (round % 50 == 0)
            {
                var path = dir.Sub($"checkpoint-{round}");
                var index = backend.Checkpoint(path);
                using var copy = KvBackend.Open(path, KvBackendOptions.Default with { BlockCacheSizeBytes = 8L << 20 });
                Assert.Equal(index, copy.AppliedIndex);
                using var copyView = copy.OpenView();
                AssertConsistent(copyView);
                checkpoints++;
            }
        }
        await writer;
        Assert.Equal(Batches, backend.AppliedIndex);
        Assert.True(checkpoints > 0);
    }

    private static void AssertConsistent(BackendView view)
    {
        var applied = view.AppliedIndex;
        if (applied == 0)
        {
            Assert.False(view.TryGet("counter"u8, out _));
            return;
        }
        Assert.True(view.TryGet("counter"u8, out var counter));
        Assert.Equal(applied.ToString(CultureInfo.InvariantCulture), Encoding.ASCII.GetString(counter));
        Assert.True(view.TryGet(Encoding.ASCII.GetBytes($"k{applied}"), out _));
        Assert.False(view.TryGet(Encoding.ASCII.GetBytes($"k{applied + 1}"), out _));
        using var ds = view.Iterate("d"u8, "e"u8);
        Assert.Equal($"d{applied}", Encoding.ASCII.GetString(ds.Key));
        ds.Next();
        Assert.False(ds.Valid);
    }
}
