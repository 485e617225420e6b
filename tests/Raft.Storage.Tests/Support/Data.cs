using System.Text;

namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>Deterministic entries and payloads.</summary>
public static class Data
{
    /// <summary>Random bytes of <paramref name="length"/> with no zero byte (so no run of data looks like unwritten space).</summary>
    public static byte[] Bytes(Random random, int length)
    {
        var b = new byte[length];
        random.NextBytes(b);
        for (var i = 0; i < b.Length; i++) if (b[i] == 0) b[i] = 1;
        return b;
    }

    public static Entry Entry(ulong index, ulong term, Random random, int maxBytes = 200) =>
        new(index, term, EntryType.Normal, Bytes(random, random.Next(0, maxBytes + 1)));

    public static Entry[] Entries(ulong from, int count, ulong term, Random random, int maxBytes = 200) =>
        Enumerable.Range(0, count).Select(i => Entry(from + (ulong)i, term, random, maxBytes)).ToArray();

    public static Entry Text(ulong index, ulong term, string text) => new(index, term, EntryType.Normal, Encoding.UTF8.GetBytes(text));
}
