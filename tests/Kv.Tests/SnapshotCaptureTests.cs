using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

public sealed class SnapshotCaptureTests
{
    private static readonly RangeRequest All = new() { Key = KeyRanges.FromKeyEnd, RangeEnd = KeyRanges.FromKeyEnd };

    // Puts over 40 keys with several versions each, some deletes (tombstones), a compaction and maybe a NOSPACE
    // alarm (which refuses puts until it is cleared).
    private static void Populate(TestStore s, bool raiseAlarm = true)
    {
        s.Grant(1, 2, 3);
        for (var i = 0; i < 300; i++)
        {
            s.Put($"key/{i % 40:D2}", $"value-{i}", lease: i % 4);
            if (i % 17 == 0)
            {
                s.Delete($"key/{i % 23:D2}");
            }
        }

        s.Compact(s.Store.Revision - 120);
        if (raiseAlarm)
        {
            s.Apply(Alarm(AlarmRequest.Types.AlarmAction.Activate, AlarmType.Nospace, memberId: 7));
        }
    }

    private static KvCommand Alarm(AlarmRequest.Types.AlarmAction action, AlarmType type, ulong memberId) =>
        new() { Alarm = new AlarmRequest { Action = action, Alarm = type, MemberID = memberId } };

    private static byte[] Bytes(KvStoreSnapshot snapshot)
    {
        using var buffer = new MemoryStream();
        snapshot.WriteTo(buffer);
        return buffer.ToArray();
    }

    private static byte[] Bytes(KvStore store)
    {
        using var buffer = new MemoryStream();
        store.WriteSnapshot(buffer);
        return buffer.ToArray();
    }

    private static KvStore Restore(byte[] bytes)
    {
        var restored = KvStore.Restore(new MemoryStream(bytes));
        restored.CheckInvariants();
        return restored;
    }

    private static void AssertSameState(KvStore expected, KvStore actual)
    {
        Assert.Equal(
            (expected.Revision, expected.CompactRevision, expected.AppliedIndex, expected.SizeBytes, expected.VersionCount),
            (actual.Revision, actual.CompactRevision, actual.AppliedIndex, actual.SizeBytes, actual.VersionCount));
        Assert.Equal(expected.Hash().Hash, actual.Hash().Hash);
        Assert.Equal(expected.HashKV(0).Hash, actual.HashKV(0).Hash);
        Assert.Equal(expected.Alarms, actual.Alarms);
        Assert.Equal(expected.Range(All), actual.Range(All));
        var oldest = Math.Max(1, expected.CompactRevision);
        var past = new RangeRequest { Key = KeyRanges.FromKeyEnd, RangeEnd = KeyRanges.FromKeyEnd, Revision = oldest };
        Assert.Equal(expected.Range(past), actual.Range(past));
        Assert.Equal(expected.ReadEvents(oldest, 100_000).Events, actual.ReadEvents(oldest, 100_000).Events);
    }

    [Fact]
    public void CaptureIsUnaffectedByWritesAndCompactionsAfterIt()
    {
        using var s = new TestStore();
        using var twin = new TestStore();
        Populate(s);
        Populate(twin);
        var snapshot = s.Store.CaptureSnapshot();
        Assert.Equal(
            (twin.Store.AppliedIndex, twin.Store.Revision, twin.Store.CompactRevision, twin.Store.VersionCount),
            (snapshot.AppliedIndex, snapshot.Revision, snapshot.CompactRevision, snapshot.VersionCount));
        Assert.Equal(40, snapshot.KeyCount);

        // After the capture: clear the alarm, overwrite existing keys, add new ones, delete, a txn, and a
        // compaction that drops versions (and whole keys) the capture holds.
        var capturedRevision = snapshot.Revision;
        s.Apply(Alarm(AlarmRequest.Types.AlarmAction.Deactivate, AlarmType.Nospace, memberId: 7));
        for (var i = 0; i < 100; i++)
        {
            s.Put($"key/{i % 40:D2}", $"after-{i}");
            s.Put($"new/{i}", $"fresh-{i}");
        }

        s.Delete("key/", "key0");
        s.Txn(new TxnRequest { Success = { PutOp("key/05", "txn"), DeleteOp("new/1"), PutOp("txn-only", "x") } });
        s.Compact(s.Store.Revision);
        s.Store.MarkApplied(s.Store.AppliedIndex + 10);
        Assert.Equal(KvError.Compacted, Assert.Throws<KvException>(() => s.Store.HashKV(capturedRevision)).Error);
        Assert.True(s.Store.VersionCount < snapshot.VersionCount, $"compaction kept {s.Store.VersionCount} versions");

        var bytes = Bytes(snapshot);
        Assert.Equal(Bytes(twin.Store), bytes);
        using var restored = Restore(bytes);
        AssertSameState(twin.Store, restored);
        Assert.Equal("value-299", new TestStore(restored).Value("key/19"));
        Assert.Null(new TestStore(restored).Value("new/0"));
    }

    [Fact]
    public async Task WriteSnapshotShowsTheStateAtItsStartAndDoesNotHoldOffApplying()
    {
        using var s = new TestStore();
        Populate(s, raiseAlarm: false);
        var expected = Bytes(s.Store);
        using var release = new ManualResetEventSlim();
        var sink = new GatedStream(release);
        var writing = Task.Run(() => s.Store.WriteSnapshot(sink));
        Assert.True(sink.Entered.Wait(TimeSpan.FromSeconds(30)), "the snapshot never started writing");

        // The writer is parked inside its first write: applying must go ahead regardless.
        try
        {
            await Task.Run(() => s.Put("key/00", "while-writing")).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(writing.IsCompleted);
        }
        finally
        {
            release.Set();
        }

        await writing.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(expected, sink.Written.ToArray());
        Assert.Equal("while-writing", s.Value("key/00"));
    }

    public static TheoryData<int, int> Shapes() => new()
    {
        { 0, 0 },
        { 1, 0 },
        { 50, 10 },
        { 64, 1023 }, // about one 64 KiB frame
        { 300, 4096 }, // many frames
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void WriteToIsRepeatableAndEstimatedBytesIsExact(int keys, int valueLength)
    {
        using var s = new TestStore();
        for (var i = 0; i < keys; i++)
        {
            if (i > 0)
            {
                s.Grant(i);
            }

            s.Put($"k{i}", new string((char)('a' + (i % 26)), valueLength), lease: i);
            if (i % 3 == 0)
            {
                s.Put($"k{i}", $"second-{i}");
                s.Delete($"k{i}");
            }
        }

        s.Apply(Alarm(AlarmRequest.Types.AlarmAction.Activate, AlarmType.Corrupt, memberId: 3));
        var snapshot = s.Store.CaptureSnapshot();
        var first = Bytes(snapshot);
        var second = Bytes(snapshot);
        Assert.Equal(first, second);
        Assert.Equal(Bytes(s.Store), first);

        // The documented guarantee: EstimatedBytes is never below what WriteTo writes; today it is exact.
        Assert.Equal(first.Length, snapshot.EstimatedBytes);
        Assert.Equal(keys, snapshot.KeyCount);
        Assert.Equal(s.Store.VersionCount, snapshot.VersionCount);
    }

    [Fact]
    public async Task OneCaptureCanBeWrittenConcurrentlyAndAfterTheStoreIsDisposed()
    {
        var s = new TestStore();
        Populate(s);
        var snapshot = s.Store.CaptureSnapshot();
        var expected = Bytes(s.Store);
        s.Dispose();
        Assert.Throws<ObjectDisposedException>(() => s.Store.CaptureSnapshot());

        var copies = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Bytes(snapshot))));
        Assert.All(copies, copy => Assert.Equal(expected, copy));
    }

    [Fact]
    public void EmptyStore()
    {
        using var store = new KvStore();
        var snapshot = store.CaptureSnapshot();
        Assert.Equal((0UL, 1L, -1L, 0, 0L), (snapshot.AppliedIndex, snapshot.Revision, snapshot.CompactRevision, snapshot.KeyCount, snapshot.VersionCount));
        var bytes = Bytes(snapshot);
        Assert.Equal(bytes.Length, snapshot.EstimatedBytes);
        using var restored = Restore(bytes);
        AssertSameState(store, restored);
        Assert.Empty(restored.Range(All).Kvs);
    }

    [Fact]
    public void TombstonesAndAlarmsAreCaptured()
    {
        using var s = new TestStore();
        using var twin = new TestStore();
        foreach (var t in new[] { s, twin })
        {
            t.Put("gone", "1");
            t.Put("gone", "2");
            t.Put("kept", "1");
            t.Delete("gone");
            t.Delete("never-existed");
            t.Apply(Alarm(AlarmRequest.Types.AlarmAction.Activate, AlarmType.Nospace, memberId: 2));
            t.Apply(Alarm(AlarmRequest.Types.AlarmAction.Activate, AlarmType.Corrupt, memberId: 1));
        }

        var snapshot = s.Store.CaptureSnapshot();
        Assert.Equal((2, 4L), (snapshot.KeyCount, snapshot.VersionCount)); // "gone" holds two puts and a tombstone

        // Clearing the alarms changes the alarm set; compaction then removes the tombstoned key altogether.
        s.Apply(Alarm(AlarmRequest.Types.AlarmAction.Deactivate, AlarmType.Nospace, memberId: 2));
        s.Apply(Alarm(AlarmRequest.Types.AlarmAction.Deactivate, AlarmType.Corrupt, memberId: 1));
        s.Compact(s.Store.Revision);
        Assert.Empty(s.Store.Alarms);
        Assert.Equal(1L, s.Store.VersionCount);

        using var restored = Restore(Bytes(snapshot));
        AssertSameState(twin.Store, restored);
        Assert.Equal([(1UL, AlarmType.Corrupt), (2UL, AlarmType.Nospace)], restored.Alarms.Select(a => (a.MemberID, a.Alarm)));
        var r = new TestStore(restored);
        Assert.Null(r.Value("gone"));
        Assert.Equal("2", r.Value("gone", revision: 3));
        var events = restored.ReadEvents(1, 100).Events;
        Assert.Contains(events, e => e.Type == Etcd.Api.Mvccpb.Event.Types.EventType.Delete && e.Kv.Key == B("gone"));
    }

    [Fact]
    public async Task CapturesTakenWhileApplyingAreConsistentPrefixes()
    {
        const int Commands = 3000;
        var rng = new Random(20240611);
        var applied = new List<KvCommand?>(Commands);
        using var store = new KvStore();

        // Each capture is written, restored and checked on the capturing thread; kept are its applied index, the
        // restored store's hash and a digest of the bytes, compared with a replay once the applier is done.
        var captured = new List<(ulong Index, uint Hash, string Digest)>();
        var captures = 0;
        using var done = new CancellationTokenSource();
        var capturer = Task.Run(() =>
        {
            KvStoreSnapshot? early = null;
            byte[]? earlyBytes = null;
            while (!done.IsCancellationRequested)
            {
                var snapshot = store.CaptureSnapshot();
                var bytes = Bytes(snapshot);
                Assert.Equal(bytes.Length, snapshot.EstimatedBytes);
                using var restored = Restore(bytes);
                Assert.Equal((snapshot.AppliedIndex, snapshot.Revision, snapshot.VersionCount), (restored.AppliedIndex, restored.Revision, restored.VersionCount));
                captured.Add((snapshot.AppliedIndex, restored.Hash().Hash, Digest(bytes)));
                if (early is null && snapshot.AppliedIndex > 0)
                {
                    (early, earlyBytes) = (snapshot, bytes);
                }

                Interlocked.Increment(ref captures);
            }

            // Written again after thousands of applies and many compactions: still the same bytes.
            Assert.NotNull(early);
            Assert.Equal(earlyBytes, Bytes(early));
        });

        for (var index = 1UL; index <= Commands; index++)
        {
            var command = NextCommand(rng, store.Revision, store.CompactRevision);
            applied.Add(command);
            if (command is null)
            {
                store.MarkApplied(index);
            }
            else
            {
                store.Apply(index, command);
            }

            // Make sure captures land in the middle, not only at the ends, however the threads get scheduled.
            if (index % 500 == 0)
            {
                var seen = Volatile.Read(ref captures);
                Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref captures) > seen + 1, TimeSpan.FromSeconds(30)), "no capture progress");
            }
        }

        await done.CancelAsync();
        await capturer;
        var indexes = captured.Select(c => c.Index).Distinct().Count();
        Assert.True(indexes >= 6, $"captures at only {indexes} distinct indexes");

        // Replay the same commands on a twin; each capture must equal the twin at the capture's applied index.
        using var twin = new KvStore();
        var next = 0;
        foreach (var (index, hash, digest) in captured.OrderBy(c => c.Index))
        {
            while ((ulong)next < index)
            {
                var command = applied[next++];
                if (command is null)
                {
                    twin.MarkApplied((ulong)next);
                }
                else
                {
                    twin.Apply((ulong)next, command);
                }
            }

            Assert.Equal(twin.Hash().Hash, hash);
            Assert.Equal(Digest(Bytes(twin)), digest);
        }
    }

    private static string Digest(byte[] bytes) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes));

    // Writes over 60 keys: puts (some large), deletes, range deletes, txns, compactions and no-op entries.
    private static KvCommand? NextCommand(Random rng, long revision, long compactRevision)
    {
        var key = $"c/{rng.Next(60):D2}";
        var value = new string('v', rng.Next(1, rng.Next(10) == 0 ? 3000 : 40));
        return rng.Next(100) switch
        {
            < 2 => new KvCommand { LeaseGrant = new LeaseGrantRequest { ID = rng.Next(1, 3), TTL = 60 } },
            < 3 => new KvCommand { LeaseRevoke = new LeaseRevokeRequest { ID = rng.Next(1, 3) } },
            < 60 => new KvCommand { Put = new PutRequest { Key = B(key), Value = B(value), Lease = rng.Next(3) } },
            < 72 => new KvCommand { DeleteRange = new DeleteRangeRequest { Key = B(key) } },
            < 75 => new KvCommand { DeleteRange = new DeleteRangeRequest { Key = B(key), RangeEnd = B(key + "5") } },
            < 90 => new KvCommand { Txn = new TxnRequest { Success = { PutOp(key, value), DeleteOp($"c/{rng.Next(60):D2}") } } },
            < 95 when revision - 5 > compactRevision => new KvCommand { Compaction = new CompactionRequest { Revision = revision - rng.Next(0, 5) } },
            _ => null,
        };
    }

    /// <summary>Blocks in its first write until released, recording what is written.</summary>
    private sealed class GatedStream(ManualResetEventSlim release) : Stream
    {
        public ManualResetEventSlim Entered { get; } = new();

        public MemoryStream Written { get; } = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Written.Length;

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (!Entered.IsSet)
            {
                Entered.Set();
                if (!release.Wait(TimeSpan.FromSeconds(60)))
                {
                    throw new TimeoutException("never released");
                }
            }

            Written.Write(buffer, offset, count);
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
