using Google.Protobuf;
using RaftKv.Kv.Auth;

namespace RaftKv.Kv.Tests.Auth;

/// <summary>The range permission check (<see cref="KeyInterval.Covers"/>) against a naive one over every key of a small alphabet.</summary>
public sealed class KeyIntervalTests
{
    // Keys of up to two letters from {a, b, c}: every boundary the random intervals below can have.
    private static readonly string[] Universe = ["", "a", "aa", "ab", "ac", "b", "ba", "bb", "bc", "c", "ca", "cb", "cc"];

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private static bool Inside(string key, string start, string end) =>
        end.Length == 0 ? key == start
        : end == "\0" ? string.CompareOrdinal(key, start) >= 0
        : string.CompareOrdinal(end, start) <= 0 ? key == start
        : string.CompareOrdinal(key, start) >= 0 && string.CompareOrdinal(key, end) < 0;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void CoversAgreesWithANaiveCheck(int seed)
    {
        var random = new Random(seed);
        string Bound() => random.Next(6) switch { 0 => "", 1 => "\0", _ => Universe[random.Next(1, Universe.Length)] };
        for (var trial = 0; trial < 2000; trial++)
        {
            var granted = Enumerable.Range(0, random.Next(4)).Select(_ => (Start: Universe[random.Next(1, Universe.Length)], End: Bound())).ToList();
            var wanted = (Start: Universe[random.Next(1, Universe.Length)], End: Bound());
            // The naive check samples the universe plus an extension of each key (keys between the letters' boundaries).
            var samples = Universe.Concat(Universe.Select(u => u + "\u0001")).Concat(["d", "zz"]);
            var naive = samples.Where(k => Inside(k, wanted.Start, wanted.End)).All(k => granted.Any(g => Inside(k, g.Start, g.End)));
            var fast = KeyInterval.Covers([.. granted.Select(g => KeyInterval.Of(B(g.Start), B(g.End)))], KeyInterval.Of(B(wanted.Start), B(wanted.End)));
            Assert.True(naive == fast, $"granted [{string.Join(", ", granted)}] wanted {wanted}: naive {naive}, fast {fast}");
        }
    }
}
