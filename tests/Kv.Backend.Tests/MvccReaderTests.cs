using RaftKv.Kv.Backend.Mvcc;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// MVCC reads on the backend against a naive model (every version of every key in lists): the visible version of a
/// key and the live keys of a range at any revision, and the history in revision order, as etcd defines them.
/// </summary>
public sealed class MvccReaderTests
{
    private static readonly KvBackendOptions Small = KvBackendOptions.Default with { BlockCacheSizeBytes = 8L << 20, WriteBufferSizeBytes = 4L << 20 };

    private static readonly byte[][] Keys = [[], [0x00], [0x00, 0x00], [0x61], [0x61, 0x00], [0x61, 0x62], [0x62], [0xFF], [0xFF, 0x00]];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ReadsMatchTheModelAtEveryRevision(int seed)
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Path, Small);
        var random = new Random(seed);
        var model = new List<(byte[] Key, StoredVersion Version)>();
        long revision = 1;
        for (ulong index = 1; index <= 200; index++)
        {
            // One write transaction per batch: a few keys, each written at most once, at the next revision.
            revision++;
            using var batch = new BackendBatch();
            var sub = 0;
            foreach (var key in Keys.Where(k => k.Length > 0).OrderBy(_ => random.Next()).Take(random.Next(1, 4)))
            {
                var version = random.Next(4) == 0
                    ? StoredVersion.Tombstone(revision, sub)
                    : new StoredVersion(revision, sub, false, revision, 1, random.Next(3), new byte[] { (byte)index, (byte)sub });
                MvccWriter.Write(batch, key, version);
                model.Add((key, version));
                sub++;
            }

            backend.Commit(batch, index);
        }

        using var view = backend.OpenView();
        var reader = new MvccReader(view);
        for (long at = 0; at <= revision + 1; at++)
        {
            foreach (var key in Keys)
            {
                var expected = Visible(model, key, at);
                Assert.Equal(expected is not null, reader.TryGetVisible(key, at, out var got));
                if (expected is { } e)
                {
                    AssertSame(e, got);
                }
            }

            for (var i = 0; i < Keys.Length; i++)
            {
                for (var j = i; j <= Keys.Length; j++)
                {
                    var end = j == Keys.Length ? [] : Keys[j];
                    var expectedRange = Keys
                        .Where(k => k.AsSpan().SequenceCompareTo(Keys[i]) >= 0 && (end.Length == 0 || k.AsSpan().SequenceCompareTo(end) < 0))
                        .Order(Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y)))
                        .Select(k => (Key: k, Version: Visible(model, k, at)))
                        .Where(x => x.Version is { IsTombstone: false })
                        .ToList();
                    var limit = random.Next(3);
                    var actual = reader.Range(Keys[i], end, at, limit);
                    var expectedLimited = limit == 0 ? expectedRange : expectedRange.Take(limit).ToList();
                    Assert.Equal(expectedLimited.Count, actual.Count);
                    for (var n = 0; n < actual.Count; n++)
                    {
                        Assert.Equal(expectedLimited[n].Key, actual[n].Key);
                        AssertSame(expectedLimited[n].Version!.Value, actual[n].Version);
                    }
                }
            }
        }

        var changes = reader.Changes(fromMain: 0, max: 10_000);
        Assert.Equal(model.Select(m => (m.Version.Main, m.Version.Sub)), changes.Select(c => (c.Main, c.Sub)));
        Assert.Equal(model.Select(m => Convert.ToHexString(m.Key)), changes.Select(c => Convert.ToHexString(c.Key)));
        Assert.Equal(model.Count(m => m.Version.Main >= 100), reader.Changes(fromMain: 100, max: 10_000).Count);
    }

    private static StoredVersion? Visible(List<(byte[] Key, StoredVersion Version)> model, byte[] key, long revision) =>
        model.Where(m => m.Key.AsSpan().SequenceEqual(key) && m.Version.Main <= revision)
            .Select(m => (StoredVersion?)m.Version)
            .LastOrDefault();

    private static void AssertSame(StoredVersion expected, StoredVersion actual)
    {
        Assert.Equal((expected.Main, expected.Sub, expected.IsTombstone, expected.CreateRevision, expected.Version, expected.Lease),
            (actual.Main, actual.Sub, actual.IsTombstone, actual.CreateRevision, actual.Version, actual.Lease));
        Assert.Equal(expected.Value.ToArray(), actual.Value.ToArray());
    }

    [Fact]
    public void RecordsRoundTripAndCorruptOnesAreRefused()
    {
        var put = new StoredVersion(7, 2, false, 5, 3, 99, new byte[] { 1, 2, 3 });
        var decoded = VersionRecord.Decode(7, 2, VersionRecord.Encode(put));
        AssertSame(put, decoded);
        Assert.True(VersionRecord.Decode(8, 0, VersionRecord.Encode(StoredVersion.Tombstone(8, 0))).IsTombstone);
        Assert.Throws<FormatException>(() => VersionRecord.Decode(1, 0, []));
        Assert.Throws<FormatException>(() => VersionRecord.Decode(1, 0, [2]));
        Assert.Throws<FormatException>(() => VersionRecord.Decode(1, 0, [1, 0]));
        Assert.Throws<FormatException>(() => VersionRecord.Decode(1, 0, [0, 1, 2]));
        Assert.Throws<FormatException>(() => ChangeKey.Decode([MvccSpace.Changes, 1]));
        Assert.Equal((42L, 3), ChangeKey.Decode(ChangeKey.Encode(42, 3)));
    }
}
