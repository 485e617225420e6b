using Google.Protobuf;
using RaftKv.Etcd.Api;
using Xunit.Abstractions;
using CompareResult = RaftKv.Etcd.Api.Compare.Types.CompareResult;
using CompareTarget = RaftKv.Etcd.Api.Compare.Types.CompareTarget;

namespace RaftKv.Kv.Tests.Model;

/// <summary>
/// Seeded random operation sequences (puts, deletes, txns with nested txns, compactions, snapshots, reads at random
/// revisions) checked three ways: against <see cref="HistoryModel"/>; between two stores fed the same log, one of
/// which keeps snapshotting and restoring (same responses, same hashes); and by restoring at the end.
/// Set KV_PROPERTY_SEED to replay one seed.
/// </summary>
public sealed class ModelPropertyTests(ITestOutputHelper output)
{
    private const int Steps = 1200;

    public static TheoryData<int, string> Seeds()
    {
        var data = new TheoryData<int, string>();
        var seeds = int.TryParse(Environment.GetEnvironmentVariable("KV_PROPERTY_SEED"), out var only)
            ? [only]
            : new[] { 1, 2, 3, 17, 4242, 90210 };
        foreach (var seed in seeds)
        {
            data.Add(seed, "memory");
            data.Add(seed, "disk");
            data.Add(seed, "disk-stepped");
        }

        return data;
    }

    /// <summary>
    /// With "disk", the first store is on the disk engine and, where the second snapshots, is either closed and
    /// reopened (a restart) or snapshotted and installed in place (a follower's catch-up), while the second, in memory,
    /// keeps snapshotting: the two engines must answer alike. With "disk-stepped", the disk store carries compactions
    /// out two changes per step, in compaction-step entries both stores apply at random (the in-memory one as
    /// nothing): every read, hash and event must be the same whether or not a compaction is done, and once it is,
    /// the logical size and version count must be too.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void StoreMatchesModelAndStaysDeterministic(int seed, string engine)
    {
        var step = 0;
        try
        {
            Run(seed, engine, ref step);
        }
        catch (Exception e)
        {
            output.WriteLine($"failing seed {seed} ({engine}) at step {step}; replay with KV_PROPERTY_SEED={seed}");
            throw new Xunit.Sdk.XunitException($"seed {seed}, {engine}, step {step} (KV_PROPERTY_SEED={seed}): {e}");
        }
    }

    private static void Run(int seed, string engine, ref int step)
    {
        var random = new Random(seed);
        var model = new HistoryModel();
        using var plain = TestStore.Of(engine);
        using var snapshotting = new TestStore();

        // Puts name leases 0..2; 1 and 2 are granted for the whole run, so every put the model takes is valid.
        plain.Grant(1, 2);
        snapshotting.Grant(1, 2);
        for (step = 0; step < Steps; step++)
        {
            var command = NextCommand(random, model);
            if (command is not null)
            {
                var expected = ApplyToModel(model, command);
                var a = plain.Apply(command);
                var b = snapshotting.Apply(command);
                Assert.Equal(expected, a.Error);
                Assert.Equal(a.Error, b.Error);
                Assert.Equal(a.Response, b.Response);
                Assert.Equal(a.Events, b.Events);
                Assert.Equal(model.CurrentRevision, a.Revision);
                Assert.Equal(model.CompactRevision, plain.Store.CompactRevision);
            }
            else
            {
                CheckRandomRead(random, model, plain.Store, snapshotting.Store);
            }

            if (plain.Store.CompactionPending && random.Next(3) == 0)
            {
                var a = plain.Step();
                var b = snapshotting.Step();
                Assert.Equal((a.Error, a.Response, a.Revision), (b.Error, b.Response, b.Revision));
            }

            if (!plain.Store.CompactionPending)
            {
                Assert.Equal((plain.Store.SizeBytes, plain.Store.VersionCount), (snapshotting.Store.SizeBytes, snapshotting.Store.VersionCount));
            }

            if (random.Next(40) == 0)
            {
                if (plain.IsOnDisk && random.Next(2) == 0)
                {
                    plain.Reopen();
                }
                else if (plain.IsOnDisk)
                {
                    plain.SnapshotAndRestore();
                }

                snapshotting.SnapshotAndRestore();
            }

            if (step % 100 == 0)
            {
                plain.Store.CheckInvariants();
                snapshotting.Store.CheckInvariants();
                Assert.Equal(plain.Store.Hash().Hash, snapshotting.Store.Hash().Hash);
                Assert.Equal(plain.Store.HashKV(0), snapshotting.Store.HashKV(0));
            }
        }

        Assert.Equal(plain.Store.Hash().Hash, snapshotting.Store.Hash().Hash);
        plain.SnapshotAndRestore();
        var steps = plain.FinishCompaction();
        for (var i = 0; i < steps; i++) snapshotting.Step(); // the same entries, to keep the applied indexes equal
        Assert.Equal((plain.Store.SizeBytes, plain.Store.VersionCount), (snapshotting.Store.SizeBytes, snapshotting.Store.VersionCount));

        Assert.Equal(plain.Store.Hash().Hash, snapshotting.Store.Hash().Hash);
        for (var r = Math.Max(1, model.CompactRevision); r <= model.CurrentRevision; r++)
        {
            CheckRange(model, plain.Store, snapshotting.Store, new RangeRequest { Key = KeyRanges.FromKeyEnd, RangeEnd = KeyRanges.FromKeyEnd, Revision = r });
        }
    }

    private static ByteString Key(Random random) => ByteString.CopyFromUtf8($"k{random.Next(24):D2}");

    private static ByteString Value(Random random) => ByteString.CopyFromUtf8(new string((char)('a' + random.Next(26)), random.Next(0, 6)));

    private static KvCommand? NextCommand(Random random, HistoryModel model)
    {
        var roll = random.Next(100);
        if (roll < 35)
        {
            var ignoreValue = random.Next(10) == 0;
            return new KvCommand
            {
                Put = new PutRequest
                {
                    Key = Key(random),
                    Value = ignoreValue ? ByteString.Empty : Value(random),
                    Lease = random.Next(3),
                    PrevKv = random.Next(2) == 0,
                    IgnoreValue = ignoreValue,
                },
            };
        }

        if (roll < 45)
        {
            var key = Key(random);
            var end = random.Next(3) switch { 0 => ByteString.Empty, 1 => KeyRanges.FromKeyEnd, _ => Key(random) };
            return new KvCommand { DeleteRange = new DeleteRangeRequest { Key = key, RangeEnd = end, PrevKv = random.Next(2) == 0 } };
        }

        if (roll < 65)
        {
            return new KvCommand { Txn = RandomTxn(random, model, depth: 0, new Queue<ByteString>(Enumerable.Range(0, 24).OrderBy(_ => random.Next()).Select(i => ByteString.CopyFromUtf8($"k{i:D2}")))) };
        }

        if (roll < 70)
        {
            var low = Math.Max(0, model.CompactRevision - 1);
            return new KvCommand { Compaction = new CompactionRequest { Revision = random.NextInt64(low, model.CurrentRevision + 2) } };
        }

        return null;
    }

    // Writes take keys off a shared queue so no key is written twice in one txn (etcd would refuse that).
    private static TxnRequest RandomTxn(Random random, HistoryModel model, int depth, Queue<ByteString> freshKeys)
    {
        var txn = new TxnRequest();
        for (var i = random.Next(3); i > 0; i--)
        {
            var key = Key(random);
            var target = (CompareTarget)random.Next(5);
            var compare = new Compare { Key = key, Target = target, Result = (CompareResult)random.Next(4) };
            var current = model.Visible(key, model.CurrentRevision);
            switch (target)
            {
                case CompareTarget.Value: compare.Value = random.Next(2) == 0 && current is not null ? current.Value : Value(random); break;
                case CompareTarget.Version: compare.Version = random.Next(3); break;
                case CompareTarget.Create: compare.CreateRevision = random.NextInt64(model.CurrentRevision + 1); break;
                case CompareTarget.Mod: compare.ModRevision = random.NextInt64(model.CurrentRevision + 1); break;
                default: compare.Lease = random.Next(3); break;
            }

            if (random.Next(4) == 0)
            {
                compare.RangeEnd = random.Next(2) == 0 ? KeyRanges.FromKeyEnd : Key(random);
            }

            txn.Compare.Add(compare);
        }

        foreach (var branch in new[] { txn.Success, txn.Failure })
        {
            for (var i = random.Next(4); i > 0 && freshKeys.Count > 0; i--)
            {
                switch (random.Next(depth < 2 ? 4 : 3))
                {
                    case 0:
                        branch.Add(new RequestOp { RequestPut = new PutRequest { Key = freshKeys.Dequeue(), Value = Value(random), PrevKv = true } });
                        break;
                    case 1:
                        branch.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = freshKeys.Dequeue(), PrevKv = true } });
                        break;
                    case 2:
                        branch.Add(new RequestOp { RequestRange = new RangeRequest { Key = Key(random), RangeEnd = random.Next(2) == 0 ? ByteString.Empty : KeyRanges.FromKeyEnd } });
                        break;
                    default:
                        branch.Add(new RequestOp { RequestTxn = RandomTxn(random, model, depth + 1, freshKeys) });
                        break;
                }
            }
        }

        return txn;
    }

    private static KvError? ApplyToModel(HistoryModel model, KvCommand command)
    {
        switch (command.RequestCase)
        {
            case KvCommand.RequestOneofCase.Put:
                var put = command.Put;
                if (put.IgnoreValue)
                {
                    var current = model.Visible(put.Key, model.CurrentRevision);
                    if (current is null)
                    {
                        return KvError.KeyNotFound;
                    }

                    model.Put(put.Key, current.Value, put.Lease);
                }
                else
                {
                    model.Put(put.Key, put.Value, put.Lease);
                }

                return null;
            case KvCommand.RequestOneofCase.DeleteRange:
                model.Delete(command.DeleteRange.Key, command.DeleteRange.RangeEnd);
                return null;
            case KvCommand.RequestOneofCase.Txn:
                model.Txn(command.Txn);
                return null;
            default:
                return model.Compact(command.Compaction.Revision);
        }
    }

    private static void CheckRandomRead(Random random, HistoryModel model, KvStore a, KvStore b)
    {
        var key = Key(random);
        var request = new RangeRequest
        {
            Key = key,
            RangeEnd = random.Next(3) switch { 0 => ByteString.Empty, 1 => KeyRanges.FromKeyEnd, _ => Key(random) },
            Revision = random.NextInt64(-1, model.CurrentRevision + 2),
            Limit = random.Next(4),
            KeysOnly = random.Next(4) == 0,
            CountOnly = random.Next(6) == 0,
            SortOrder = random.Next(3) == 0 ? RangeRequest.Types.SortOrder.Descend : RangeRequest.Types.SortOrder.None,
        };
        CheckRange(model, a, b, request);
    }

    private static void CheckRange(HistoryModel model, KvStore a, KvStore b, RangeRequest request)
    {
        var expectedError = model.Range(request, out var expected);
        if (expectedError is not null)
        {
            Assert.Equal(expectedError, Assert.Throws<KvException>(() => a.Range(request)).Error);
            Assert.Equal(expectedError, Assert.Throws<KvException>(() => b.Range(request)).Error);
            return;
        }

        Assert.Equal(expected, a.Range(request));
        Assert.Equal(expected, b.Range(request));
    }
}
