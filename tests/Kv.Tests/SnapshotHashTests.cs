using Google.Protobuf;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

public sealed class SnapshotHashTests
{
    private static TestStore Populated()
    {
        var s = new TestStore();
        s.Grant(1, 2);
        for (var i = 0; i < 500; i++)
        {
            s.Put($"key/{i % 97:D3}", $"value-{i}", lease: i % 3);
            if (i % 11 == 0)
            {
                s.Delete($"key/{i % 13:D3}");
            }
        }

        s.Compact(s.Store.Revision - 100);
        s.Apply(new KvCommand { Alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Activate, Alarm = AlarmType.Nospace, MemberID = 5 } });
        return s;
    }

    private static byte[] Snapshot(KvStore store)
    {
        using var buffer = new MemoryStream();
        store.WriteSnapshot(buffer);
        return buffer.ToArray();
    }

    [Fact]
    public void RestoreReproducesTheWholeState()
    {
        using var s = Populated();
        var bytes = Snapshot(s.Store);
        using var restored = KvStore.Restore(new MemoryStream(bytes));
        Assert.Equal(s.Store.Hash().Hash, restored.Hash().Hash);
        Assert.Equal(s.Store.HashKV(0).Hash, restored.HashKV(0).Hash);
        Assert.Equal((s.Store.Revision, s.Store.CompactRevision, s.Store.AppliedIndex, s.Store.SizeBytes, s.Store.VersionCount),
            (restored.Revision, restored.CompactRevision, restored.AppliedIndex, restored.SizeBytes, restored.VersionCount));
        var all = new RangeRequest { Key = KeyRanges.FromKeyEnd, RangeEnd = KeyRanges.FromKeyEnd };
        Assert.Equal(s.Store.Range(all), restored.Range(all));
        var past = new RangeRequest { Key = KeyRanges.FromKeyEnd, RangeEnd = KeyRanges.FromKeyEnd, Revision = s.Store.CompactRevision };
        Assert.Equal(s.Store.Range(past), restored.Range(past));
        Assert.Equal(s.Store.ReadEvents(s.Store.CompactRevision, 10_000), restored.ReadEvents(s.Store.CompactRevision, 10_000), new EventPageComparer());
        Assert.Equal(bytes, Snapshot(restored));
    }

    [Fact]
    public void SnapshotIsWrittenInBoundedChunks()
    {
        using var s = new TestStore();
        for (var i = 0; i < 200; i++)
        {
            s.Put($"k{i}", new string('v', 4096));
        }

        var sink = new WriteSizeRecorder();
        s.Store.WriteSnapshot(sink);
        Assert.True(sink.Writes > 10, $"only {sink.Writes} writes");
        Assert.True(sink.LargestWrite <= 70 * 1024, $"a write of {sink.LargestWrite} bytes");
    }

    [Fact]
    public void EveryFlippedByteIsDetected()
    {
        using var s = new TestStore();
        for (var i = 0; i < 20; i++)
        {
            s.Put($"k{i}", $"v{i}");
        }

        var bytes = Snapshot(s.Store);
        for (var at = 0; at < bytes.Length; at++)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[at] ^= 0x40;
            Assert.Throws<KvSnapshotCorruptException>(() => KvStore.Restore(new MemoryStream(damaged)));
        }
    }

    [Fact]
    public void TruncatedAndForeignStreamsAreRejected()
    {
        using var s = Populated();
        var bytes = Snapshot(s.Store);
        foreach (var length in new[] { 0, 5, 100, bytes.Length / 2, bytes.Length - 1 })
        {
            var error = Assert.Throws<KvSnapshotCorruptException>(() => KvStore.Restore(new MemoryStream(bytes, 0, length)));
            Assert.False(string.IsNullOrEmpty(error.Message));
        }

        Assert.Throws<KvSnapshotCorruptException>(() => KvStore.Restore(new MemoryStream(new byte[4096])));
    }

    [Fact]
    public void HashKVIsStableForPastRevisionsAndSeesChanges()
    {
        using var a = new TestStore();
        using var b = new TestStore();
        foreach (var s in new[] { a, b })
        {
            s.Put("x", "1");
            s.Put("y", "2");
        }

        var at3 = a.Store.HashKV(3);
        Assert.Equal(at3.Hash, b.Store.HashKV(0).Hash);
        Assert.Equal((3L, -1L, 3L), (at3.HashRevision, at3.CompactRevision, at3.Header.Revision));
        a.Put("x", "changed");
        Assert.Equal(at3.Hash, a.Store.HashKV(3).Hash);
        Assert.NotEqual(at3.Hash, a.Store.HashKV(0).Hash);
        Assert.NotEqual(a.Store.Hash().Hash, b.Store.Hash().Hash);
        Assert.Equal(KvError.FutureRevision, Assert.Throws<KvException>(() => a.Store.HashKV(99)).Error);
        a.Compact(3);
        Assert.Equal(KvError.Compacted, Assert.Throws<KvException>(() => a.Store.HashKV(2)).Error);
        Assert.Equal(3, a.Store.HashKV(0).CompactRevision);
    }

    [Fact]
    public void HashSeesValuesLeasesAndAlarms()
    {
        using var a = new TestStore();
        using var b = new TestStore();
        a.Grant(1, 2);
        b.Grant(1, 2);
        a.Put("k", "v", lease: 1);
        b.Put("k", "v", lease: 2);
        Assert.NotEqual(a.Store.HashKV(0).Hash, b.Store.HashKV(0).Hash);
        using var c = new TestStore();
        using var d = new TestStore();
        c.Apply(new KvCommand { Alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Activate, Alarm = AlarmType.Corrupt } });
        d.Apply(new KvCommand { Alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Get } });
        Assert.NotEqual(c.Store.Hash().Hash, d.Store.Hash().Hash);
        Assert.Equal(c.Store.HashKV(0).Hash, d.Store.HashKV(0).Hash);
    }

    private sealed class WriteSizeRecorder : Stream
    {
        public int Writes { get; private set; }

        public int LargestWrite { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes++;
            LargestWrite = Math.Max(LargestWrite, count);
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class EventPageComparer : IEqualityComparer<KvEventPage>
    {
        public bool Equals(KvEventPage? x, KvEventPage? y) =>
            x is not null && y is not null && x.NextRevision == y.NextRevision && x.Events.SequenceEqual(y.Events);

        public int GetHashCode(KvEventPage obj) => obj.NextRevision.GetHashCode();
    }
}
