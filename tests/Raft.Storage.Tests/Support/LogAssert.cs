using System.Text;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>Compares what two <see cref="IRaftStorage"/>s serve, entry by entry and byte by byte.</summary>
public static class LogAssert
{
    /// <summary>A canonical description of everything a storage serves (for equality and for readable failures).</summary>
    public static string Describe(IRaftStorage s)
    {
        var sb = new StringBuilder();
        sb.Append($"hs={s.HardState} first={s.FirstIndex} last={s.LastIndex}");
        if (s.Snapshot is { } snap)
            sb.Append($" snap={snap.Index}/{snap.Term} voters={string.Join(",", snap.Metadata.ConfState.Voters)} data={snap.Data.Length}:{Crc32C.Compute(snap.Data.Span):X8}");
        Assert.Equal(LogLookup.Ok, s.TryGetTerm(s.FirstIndex - 1, out var sentinel));
        sb.Append($" sentinelTerm={sentinel}");
        if (s.LastIndex >= s.FirstIndex)
        {
            var entries = new List<Entry>();
            Assert.Equal(LogLookup.Ok, s.GetEntries(s.FirstIndex, s.LastIndex + 1, long.MaxValue, entries));
            Assert.Equal((int)(s.LastIndex - s.FirstIndex + 1), entries.Count);
            foreach (var e in entries)
            {
                Assert.Equal(LogLookup.Ok, s.TryGetTerm(e.Index, out var t));
                Assert.Equal(e.Term, t);
                sb.Append($"\n{e.Index}/{e.Term} {e.Type} {e.Data.Length}:{Crc32C.Compute(e.Data.Span):X8}");
            }
        }
        return sb.ToString();
    }

    public static void Same(IRaftStorage expected, IRaftStorage actual, string? context = null)
    {
        var e = Describe(expected);
        var a = Describe(actual);
        if (e != a) Assert.Fail($"{context}\nexpected:\n{e}\nactual:\n{a}");
    }
}
