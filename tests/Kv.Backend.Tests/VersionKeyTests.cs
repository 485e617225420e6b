using RaftKv.Kv.Backend.Mvcc;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// The version-key encoding keeps etcd's order in the backend's byte order: keys by unsigned bytes, and within a key
/// the versions newest first, so one seek finds the version visible at any revision.
/// </summary>
public sealed class VersionKeyTests
{
    private static readonly byte[] Alphabet = [0x00, 0x01, 0x02, 0x7F, 0xFE, 0xFF];

    private static byte[] RandomKey(Random random)
    {
        var key = new byte[random.Next(0, 6)];
        for (var i = 0; i < key.Length; i++)
        {
            key[i] = Alphabet[random.Next(Alphabet.Length)];
        }

        return key;
    }

    private static int CompareVersions((byte[] Key, long Main, int Sub) a, (byte[] Key, long Main, int Sub) b)
    {
        var byKey = a.Key.AsSpan().SequenceCompareTo(b.Key);
        if (byKey != 0)
        {
            return byKey;
        }

        return a.Main != b.Main ? b.Main.CompareTo(a.Main) : b.Sub.CompareTo(a.Sub);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EncodedOrderIsKeyOrderThenNewestFirst(int seed)
    {
        var random = new Random(seed);
        var versions = Enumerable.Range(0, 2000)
            .Select(_ => (Key: RandomKey(random), Main: random.Next(4) == 0 ? random.NextInt64(0, long.MaxValue) : random.Next(0, 20), Sub: random.Next(0, 3)))
            .ToList();
        var byEncoding = versions.OrderBy(v => VersionKey.Encode(v.Key, v.Main, v.Sub), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList();
        var expected = versions.ToList();
        expected.Sort(CompareVersions);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(CompareVersions(expected[i], byEncoding[i]) == 0,
                $"seed {seed}: position {i}: expected {Convert.ToHexString(expected[i].Key)}@{expected[i].Main}.{expected[i].Sub}, got {Convert.ToHexString(byEncoding[i].Key)}@{byEncoding[i].Main}.{byEncoding[i].Sub}");
        }
    }

    [Fact]
    public void DecodeInvertsEncode()
    {
        var random = new Random(7);
        for (var i = 0; i < 1000; i++)
        {
            var key = RandomKey(random);
            var main = random.NextInt64(0, long.MaxValue);
            var sub = random.Next();
            var (decodedKey, decodedMain, decodedSub) = VersionKey.Decode(VersionKey.Encode(key, main, sub));
            Assert.Equal(key, decodedKey);
            Assert.Equal((main, sub), (decodedMain, decodedSub));
        }
    }

    [Fact]
    public void AllVersionsOfAKeyLieInItsRange_AndNoOtherKeysDo()
    {
        byte[] key = [0x61, 0x00];
        byte[][] neighbours = [[0x61], [0x61, 0x00, 0x00], [0x61, 0x00, 0x01], [0x61, 0x01], [0x61, 0x00, 0xFF]];
        var start = VersionKey.KeyStart(key);
        var end = VersionKey.KeyEnd(key);
        foreach (var (main, sub) in new[] { (0L, 0), (1L, 0), (5L, 3), (long.MaxValue, int.MaxValue) })
        {
            var v = VersionKey.Encode(key, main, sub);
            Assert.True(v.AsSpan().SequenceCompareTo(start) >= 0 && v.AsSpan().SequenceCompareTo(end) < 0);
            foreach (var other in neighbours)
            {
                var o = VersionKey.Encode(other, main, sub);
                Assert.False(o.AsSpan().SequenceCompareTo(start) >= 0 && o.AsSpan().SequenceCompareTo(end) < 0, Convert.ToHexString(other));
            }
        }
    }

    [Fact]
    public void SeekingAtOrBelowARevisionFindsTheNewestVisibleVersion()
    {
        byte[] key = [0x6B];
        var stored = new[] { (3L, 0), (5L, 0), (5L, 1), (9L, 0) }.Select(r => VersionKey.Encode(key, r.Item1, r.Item2)).ToList();
        stored.Sort((x, y) => x.AsSpan().SequenceCompareTo(y));
        (long, int)? Visible(long revision)
        {
            var seek = VersionKey.AtOrBelow(key, revision);
            var first = stored.FirstOrDefault(s => s.AsSpan().SequenceCompareTo(seek) >= 0 && s.AsSpan().SequenceCompareTo(VersionKey.KeyEnd(key)) < 0);
            return first is null ? null : (VersionKey.Decode(first).Main, VersionKey.Decode(first).Sub);
        }

        Assert.Null(Visible(2));
        Assert.Equal((3L, 0), Visible(4));
        Assert.Equal((5L, 1), Visible(5));
        Assert.Equal((5L, 1), Visible(8));
        Assert.Equal((9L, 0), Visible(100));
    }

    [Theory]
    [InlineData("")] // empty
    [InlineData("6361000100")] // another space
    [InlineData("7661")] // no terminator
    [InlineData("76610002")] // 0x00 followed by neither 0x01 nor 0xFF
    [InlineData("76610001FFFF")] // too few revision bytes
    public void CorruptKeysAreRefused(string hex) =>
        Assert.Throws<FormatException>(() => VersionKey.Decode(Convert.FromHexString(hex)));
}
