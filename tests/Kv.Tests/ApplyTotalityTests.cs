using Google.Protobuf;
using RaftKv.Etcd.Api;
using Xunit.Abstractions;
using static RaftKv.Kv.Tests.TestStore;
using AlarmAction = RaftKv.Etcd.Api.AlarmRequest.Types.AlarmAction;
using CompareResult = RaftKv.Etcd.Api.Compare.Types.CompareResult;
using CompareTarget = RaftKv.Etcd.Api.Compare.Types.CompareTarget;

namespace RaftKv.Kv.Tests;

/// <summary>
/// Apply is a pure, total function of the log (Raft paper section 5.3: every state machine applies the same
/// commands in the same order, so each must reach the same state). No local setting may change what an entry
/// does, and no entry, however malformed, may make apply throw: a committed entry that throws stops every member,
/// and stops it again at every restart, when it is replayed.
/// </summary>
public sealed class ApplyTotalityTests(ITestOutputHelper output)
{
    [Fact]
    public void MembersWithDifferentQuotasApplyTheSameLogTheSameWay()
    {
        // The NOSPACE recovery etcd documents raises one member's quota and restarts it: if apply read the quota,
        // that member would take writes the others refuse, and the replicas would differ forever.
        using var small = new TestStore(new KvStoreOptions { QuotaBytes = 2000 });
        using var large = new TestStore(new KvStoreOptions { QuotaBytes = 1_000_000 });
        foreach (var command in new[]
                 {
                     new KvCommand { Put = new PutRequest { Key = B("a"), Value = B(new string('x', 1500)) } },
                     new KvCommand { Put = new PutRequest { Key = B("b"), Value = B(new string('y', 1500)) } },
                     new KvCommand { Txn = new TxnRequest { Success = { PutOp("c", new string('z', 1500)) } } },
                 })
        {
            var a = small.Apply(command);
            var b = large.Apply(command);
            Assert.Equal(a.Error, b.Error);
        }

        Assert.Equal(small.Store.Hash().Hash, large.Store.Hash().Hash);
        Assert.Equal(small.Store.SizeBytes, large.Store.SizeBytes);
        Assert.Empty(small.Store.Alarms);
    }

    [Fact]
    public void TheQuotaIsCheckedBeforeProposingNotWhenApplying()
    {
        using var s = new TestStore(new KvStoreOptions { QuotaBytes = 2000 });
        s.Put("a", new string('x', 500));
        var big = new KvCommand { Put = new PutRequest { Key = B("b"), Value = B(new string('y', 1500)) } };
        Assert.Equal(KvError.NoSpace, s.Store.CheckQuota(big));
        Assert.Null(s.Store.CheckQuota(new KvCommand { Put = new PutRequest { Key = B("b"), Value = B("1") } }));

        // Deletes, reads, compactions and alarms cost nothing and pass whatever the size.
        Assert.Null(s.Store.CheckQuota(new KvCommand { DeleteRange = new DeleteRangeRequest { Key = B("a") } }));
        Assert.Null(s.Store.CheckQuota(new KvCommand { Alarm = new AlarmRequest { Action = AlarmAction.Deactivate, Alarm = AlarmType.Nospace } }));

        // A txn costs its more expensive branch.
        Assert.Equal(KvError.NoSpace, s.Store.CheckQuota(new KvCommand { Txn = new TxnRequest { Failure = { PutOp("c", new string('z', 1500)) } } }));
    }

    [Fact]
    public void AnAlarmFloodIsRefusedDeterministicallyInsteadOfThrowing()
    {
        // Found by review: about 1,025 ACTIVATE requests with distinct member ids made AlarmSet throw inside apply.
        using var one = new TestStore();
        using var two = new TestStore();
        var refused = 0;
        for (ulong member = 1; member <= 1100; member++)
        {
            var command = new KvCommand { Alarm = new AlarmRequest { Action = AlarmAction.Activate, Alarm = AlarmType.Nospace, MemberID = member } };
            var a = one.Apply(command);
            var b = two.Apply(command);
            Assert.Equal(a.Error, b.Error);
            if (!a.Succeeded)
            {
                Assert.Equal(KvError.TooManyAlarms, a.Error);
                refused++;
            }
        }

        Assert.Equal(1100 - 1024, refused);
        Assert.Equal(1024, one.Store.Alarms.Count);
        Assert.Equal(one.Store.Hash().Hash, two.Store.Hash().Hash);

        // Raising one already raised, and clearing, still work at the limit.
        Ok(one.Apply(new KvCommand { Alarm = new AlarmRequest { Action = AlarmAction.Activate, Alarm = AlarmType.Nospace, MemberID = 5 } }));
        Ok(one.Apply(new KvCommand { Alarm = new AlarmRequest { Action = AlarmAction.Deactivate, Alarm = AlarmType.Nospace, MemberID = 5 } }));
        Assert.Equal(1023, one.Store.Alarms.Count);
    }

    [Fact]
    public void UnknownAlarmTypesAndActionsChangeNothing()
    {
        using var s = new TestStore();
        var before = s.Store.Hash().Hash;
        foreach (var command in new[]
                 {
                     new KvCommand { Alarm = new AlarmRequest { Action = AlarmAction.Activate, Alarm = (AlarmType)99, MemberID = 1 } },
                     new KvCommand { Alarm = new AlarmRequest { Action = AlarmAction.Activate, Alarm = AlarmType.None, MemberID = 1 } },
                     new KvCommand { Alarm = new AlarmRequest { Action = (AlarmAction)42, Alarm = AlarmType.Nospace, MemberID = 1 } },
                 })
        {
            s.Apply(command);
        }

        Assert.Empty(s.Store.Alarms);
        Assert.NotEqual(before, s.Store.Hash().Hash); // the applied index moved, nothing else
        s.Put("a", "1");
    }

    public static TheoryData<int> Seeds() => [1, 2, 3, 5, 8, 13, 21, 34];

    /// <summary>
    /// Random commands, many of them invalid (unknown enums, empty keys, huge or negative revisions, deep txns,
    /// lease checkpoints of unknown leases with impossible remaining TTLs, garbage bytes), applied to three replicas
    /// with different local options, the third on the disk engine: apply
    /// never throws and the replicas end identical.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomAndMalformedCommandsNeverThrowAndReplicasAgree(int seed)
    {
        var random = new Random(seed);
        using var a = new TestStore(new KvStoreOptions { QuotaBytes = 4096 });
        using var b = new TestStore(new KvStoreOptions { QuotaBytes = -1, CollectEvents = false });
        using var c = TestStore.OnDisk(new KvStoreOptions { MaxRequestBytes = 100, MaxTxnOps = 1 });
        var step = 0;
        try
        {
            for (step = 0; step < 3000; step++)
            {
                if (random.Next(10) == 0)
                {
                    var bytes = RandomBytes(random);
                    Agree(a.ApplyBytes(bytes), b.ApplyBytes(bytes), c.ApplyBytes(bytes));
                    continue;
                }

                var command = RandomCommand(random);
                Agree(a.Apply(command), b.Apply(command), c.Apply(command));
                if (step % 500 == 499)
                {
                    b.SnapshotAndRestore();
                }
            }
        }
        catch (Exception e)
        {
            output.WriteLine($"failing seed {seed} at step {step}");
            throw new Xunit.Sdk.XunitException($"seed {seed}, step {step}: {e}");
        }

        Assert.Equal(a.Store.Hash().Hash, b.Store.Hash().Hash);
        Assert.Equal(a.Store.Hash().Hash, c.Store.Hash().Hash);
        Assert.Equal(a.Store.Leases(10_000), b.Store.Leases(10_000)); // the hashes leave leases out, as etcd's HashKV does
        Assert.Equal(a.Store.Leases(10_000), c.Store.Leases(10_000));
        foreach (var lease in a.Store.Leases(10_000))
        {
            Assert.Equal(a.Store.LeaseKeys(lease.Id, 100), c.Store.LeaseKeys(lease.Id, 100));
        }

        a.Store.CheckInvariants();
        b.Store.CheckInvariants();
        c.Store.CheckInvariants();
    }

    private static void Agree(ApplyResult a, ApplyResult b, ApplyResult c)
    {
        Assert.Equal(a.Error, b.Error);
        Assert.Equal(a.Error, c.Error);
        Assert.Equal(a.Revision, b.Revision);
        Assert.Equal(a.Revision, c.Revision);
        Assert.Equal(a.Response?.ToByteString(), b.Response?.ToByteString());
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 64)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static readonly string[] Keys = ["", "a", "b", "c", "d", "\0", "\u00ff"];

    private static ByteString Key(Random random) => B(Keys[random.Next(Keys.Length)]);

    private static long Revision(Random random) => random.Next(6) switch
    {
        0 => -random.Next(1, 100),
        1 => long.MaxValue,
        2 => long.MinValue,
        _ => random.Next(0, 40),
    };

    private static KvCommand RandomCommand(Random random)
    {
        var command = new KvCommand { RequestId = (ulong)random.NextInt64() };
        switch (random.Next(10))
        {
            case 0: command.Range = RandomRange(random); break;
            case 1: command.Put = RandomPut(random); break;
            case 2: command.DeleteRange = new DeleteRangeRequest { Key = Key(random), RangeEnd = random.Next(3) == 0 ? Key(random) : ByteString.Empty, PrevKv = random.Next(2) == 0 }; break;
            case 3: command.Txn = RandomTxn(random, depth: 0); break;
            case 4: command.Compaction = new CompactionRequest { Revision = Revision(random), Physical = random.Next(2) == 0 }; break;
            case 5:
                command.Alarm = new AlarmRequest
                {
                    Action = (AlarmAction)random.Next(-1, 5), Alarm = (AlarmType)random.Next(-1, 5), MemberID = (ulong)random.Next(0, 2000),
                };
                break;
            case 6: break; // no request at all
            case 7: command.LeaseGrant = new LeaseGrantRequest { ID = LeaseId(random), TTL = Ttl(random) }; break;
            case 8:
                switch (random.Next(5))
                {
                    case 0: command.LeaseRevoke = new LeaseRevokeRequest { ID = LeaseId(random) }; break;
                    case 3 or 4: command.LeaseCheckpoint = RandomCheckpoints(random); break;
                    case 1: command.LeaseKeepAlive = new LeaseKeepAliveRequest { ID = LeaseId(random) }; break; // never meant for the log
                    default: command.LeaseTimeToLive = new LeaseTimeToLiveRequest { ID = LeaseId(random), Keys = true }; break;
                }

                break;
            default: command.Put = RandomPut(random); break;
        }

        return command;
    }

    private static RangeRequest RandomRange(Random random) => new()
    {
        Key = Key(random),
        RangeEnd = random.Next(3) == 0 ? Key(random) : ByteString.Empty,
        Revision = Revision(random),
        Limit = random.Next(-2, 5),
        SortOrder = (RangeRequest.Types.SortOrder)random.Next(-1, 5),
        SortTarget = (RangeRequest.Types.SortTarget)random.Next(-1, 7),
        MinModRevision = Revision(random),
        MaxCreateRevision = Revision(random),
        CountOnly = random.Next(4) == 0,
        KeysOnly = random.Next(4) == 0,
    };

    // A few ids so grants, puts and revokes meet, and the hostile ones: 0, negative, the extremes.
    private static long LeaseId(Random random) => random.Next(6) switch
    {
        0 => 0,
        1 => long.MinValue,
        2 => long.MaxValue,
        _ => random.Next(-5, 5),
    };

    // etcd refuses above 9e9 s and raises what is below its minimum: both edges, zero, negatives and the extremes.
    private static long Ttl(Random random) => random.Next(7) switch
    {
        0 => 0,
        1 => -random.Next(1, 100),
        2 => long.MaxValue,
        3 => long.MinValue,
        4 => RaftKv.Kv.Leases.LeaseLimits.MaxTtlSeconds + random.Next(0, 2),
        _ => random.Next(1, 100),
    };

    // Hostile checkpoints: unknown, zero and extreme ids, remaining TTLs at and around 0, the TTL and the extremes,
    // the same lease twice, and now and then one more than a command may carry.
    private static LeaseCheckpointRequest RandomCheckpoints(Random random)
    {
        var request = new LeaseCheckpointRequest();
        var count = random.Next(30) == 0 ? RaftKv.Kv.Leases.LeaseLimits.MaxCheckpointsPerCommand + 1 : random.Next(0, 5);
        for (var i = 0; i < count; i++)
        {
            request.Checkpoints.Add(new LeaseCheckpoint { ID = LeaseId(random), RemainingTTL = Ttl(random) });
        }

        return request;
    }

    private static PutRequest RandomPut(Random random) => new()
    {
        Key = Key(random),
        Value = B(new string('v', random.Next(0, 3000))),
        PrevKv = random.Next(2) == 0,
        IgnoreValue = random.Next(8) == 0,
        IgnoreLease = random.Next(8) == 0,
        Lease = random.Next(4) == 0 ? LeaseId(random) : 0,
    };

    private static TxnRequest RandomTxn(Random random, int depth)
    {
        var txn = new TxnRequest();
        for (var i = random.Next(0, 3); i > 0; i--)
        {
            txn.Compare.Add(new Compare
            {
                Key = Key(random),
                RangeEnd = random.Next(4) == 0 ? Key(random) : ByteString.Empty,
                Result = (CompareResult)random.Next(-1, 6),
                Target = (CompareTarget)random.Next(-1, 7),
                Version = Revision(random),
            });
        }

        for (var i = random.Next(0, 4); i > 0; i--)
        {
            var op = random.Next(depth > 3 ? 4 : 5) switch
            {
                0 => new RequestOp { RequestRange = RandomRange(random) },
                1 => new RequestOp { RequestPut = RandomPut(random) },
                2 => new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Key(random) } },
                3 => new RequestOp(),
                _ => new RequestOp { RequestTxn = RandomTxn(random, depth + 1) },
            };
            (random.Next(2) == 0 ? txn.Success : txn.Failure).Add(op);
        }

        return txn;
    }
}
