using Google.Protobuf;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Tests;

public sealed class KeyIndexTests
{
    private sealed class BytewiseComparer : IComparer<byte[]>
    {
        public static readonly BytewiseComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    private static List<byte[]> Walk(KeyIndex index, byte[]? from = null)
    {
        var keys = new List<byte[]>();
        var cursor = from is null ? index.First() : index.Seek(from);
        while (cursor.Next(out var history))
        {
            keys.Add(history.Key.ToByteArray());
        }

        return keys;
    }

    [Theory]
    [InlineData(1, 3000, 4)]
    [InlineData(2, 20000, 64)]
    [InlineData(3, 20000, 2)]
    public void MatchesASortedSetUnderRandomInsertsAndRemoves(int seed, int steps, int keySpace)
    {
        var random = new Random(seed);
        var index = new KeyIndex();
        var model = new SortedSet<byte[]>(BytewiseComparer.Instance);
        for (var step = 0; step < steps; step++)
        {
            var key = new byte[random.Next(1, 4)];
            for (var i = 0; i < key.Length; i++)
            {
                key[i] = (byte)random.Next(keySpace);
            }

            // Grow for the first half, then mostly shrink, so leaves split, merge and empty out.
            if (random.NextDouble() < (step < steps / 2 ? 0.7 : 0.25))
            {
                var history = index.GetOrAdd(ByteString.CopyFrom(key));
                Assert.Equal(key, history.Key.ToByteArray());
                model.Add(key);
            }
            else
            {
                Assert.Equal(model.Remove(key), index.Remove(key));
            }

            Assert.Equal(model.Count, index.Count);
            if (step % 997 == 0)
            {
                index.CheckInvariants();
                Assert.Equal(model.ToList(), Walk(index));
                var probe = new byte[] { (byte)random.Next(keySpace) };
                Assert.Equal(model.Where(k => BytewiseComparer.Instance.Compare(k, probe) >= 0).ToList(), Walk(index, probe));
            }
        }

        Assert.Equal(model.ToList(), Walk(index));
        foreach (var key in model)
        {
            Assert.NotNull(index.Find(key));
        }

        foreach (var key in model.ToList())
        {
            Assert.True(index.Remove(key));
        }

        Assert.Equal(0, index.Count);
        Assert.Empty(Walk(index));
        index.GetOrAdd(ByteString.CopyFromUtf8("again"));
        Assert.Single(Walk(index));
    }

    [Fact]
    public void LiveCountsFollowPutsDeletesAndCompaction()
    {
        var random = new Random(7);
        var state = new MvccState();
        var model = new SortedDictionary<string, bool>(StringComparer.Ordinal);
        for (var step = 0; step < 30000; step++)
        {
            var key = $"k{random.Next(5000):D4}";
            var put = random.Next(3) != 0;
            if (!put && state.Keys.Find(ByteString.CopyFromUtf8(key).Span)?.IsLive != true)
            {
                continue;
            }

            var history = state.Keys.GetOrAdd(ByteString.CopyFromUtf8(key));

            var revision = state.CurrentRevision + 1;
            state.Append(history, put ? new RevisionEntry(revision, 0, revision, 1, 0, ByteString.Empty) : RevisionEntry.Tombstone(revision, 0));
            state.CommitRevision(revision);
            model[key] = put;
            if (step % 5000 == 4999)
            {
                state.Compact(state.CurrentRevision);
                foreach (var dead in model.Where(p => !p.Value).Select(p => p.Key).ToList())
                {
                    model.Remove(dead);
                }

                Assert.Equal(model.Count, state.Keys.Count);
                state.Keys.CheckInvariants();
            }

            if (step % 97 == 0)
            {
                var from = $"k{random.Next(5000):D4}";
                var to = $"k{random.Next(5000):D4}";
                var expected = model.Count(p => p.Value && string.CompareOrdinal(p.Key, from) >= 0 && string.CompareOrdinal(p.Key, to) < 0);
                Assert.Equal(expected, state.Keys.CountLive(KeyRange.FromRequest(ByteString.CopyFromUtf8(from), ByteString.CopyFromUtf8(to))));
                Assert.Equal(model.Count(p => p.Value), state.Keys.CountLive(KeyRange.FromRequest(ByteString.CopyFrom(0), ByteString.CopyFrom(0))));
            }
        }
    }

    [Fact]
    public void SequentialInsertsAndSeeksPastTheEnd()
    {
        var index = new KeyIndex();
        for (var i = 0; i < 10_000; i++)
        {
            index.GetOrAdd(ByteString.CopyFromUtf8($"{i:D6}"));
        }

        Assert.Equal(10_000, index.Count);
        Assert.Equal("005000", Walk(index, "005000"u8.ToArray())[0].AsSpan().ToArray().Select(b => (char)b).Aggregate("", (s, c) => s + c));
        Assert.Empty(Walk(index, "999999"u8.ToArray()));
        Assert.Equal(10_000, Walk(index, [0]).Count);
        Assert.Same(index.GetOrAdd(ByteString.CopyFromUtf8("000042")), index.Find("000042"u8));
    }
}
