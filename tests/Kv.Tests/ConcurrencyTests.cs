using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

public sealed class ConcurrencyTests
{
    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public async Task ReadersSeeWholeTxnsWhileTheApplierRuns(string engine)
    {
        using var s = TestStore.Of(engine);
        s.Txn(new TxnRequest { Success = { PutOp("left", "0"), PutOp("right", "0") } });
        using var done = new CancellationTokenSource();
        var all = new RangeRequest { Key = B("left"), RangeEnd = B("rightz") };

        using var started = new CountdownEvent(2);
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var reads = 0;
            do
            {
                var kvs = s.Store.Range(all).Kvs;
                Assert.Equal(2, kvs.Count);
                Assert.Equal(kvs[0].Value, kvs[1].Value); // both keys change in one txn
                Assert.Equal(kvs[0].ModRevision, kvs[1].ModRevision);
                s.Store.HashKV(0);
                if (reads++ == 0)
                {
                    started.Signal();
                }
            }
            while (!done.IsCancellationRequested);

            return reads;
        })).ToArray();
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)), "readers did not start");

        for (var i = 1; i <= 2000; i++)
        {
            s.Txn(new TxnRequest { Success = { PutOp("left", $"{i}"), PutOp("right", $"{i}") } });
            if (i % 500 == 0)
            {
                s.Compact(s.Store.Revision - 10);
            }
        }

        await done.CancelAsync();
        var counts = await Task.WhenAll(readers);
        Assert.All(counts, c => Assert.True(c > 0));
        Assert.Equal("2000", s.Value("left"));
    }
}
