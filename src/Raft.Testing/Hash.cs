using System.Text;

namespace RaftKv.Raft.Testing;

/// <summary>A small deterministic 64-bit hash (not randomized per process, unlike <see cref="HashCode"/>).</summary>
public static class Hash
{
    /// <summary>Mixes <paramref name="v"/> into <paramref name="h"/> (a 64-bit finalizer).</summary>
    public static ulong Mix(ulong h, ulong v)
    {
        h ^= v + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2);
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        return h;
    }

    /// <summary>FNV-1a of <paramref name="data"/>.</summary>
    public static ulong Of(ReadOnlySpan<byte> data)
    {
        var h = 0xCBF29CE484222325UL;
        foreach (var b in data) h = (h ^ b) * 0x100000001B3UL;
        return h;
    }

    /// <summary>Folds one entry (index, term, data) into a rolling hash of applied history.</summary>
    public static ulong Entry(ulong previous, in Entry entry) =>
        Mix(Mix(Mix(previous, entry.Index), entry.Term), Of(entry.Data.Span));

    /// <summary>The UTF-8 text of <paramref name="data"/> (simulated commands are text).</summary>
    public static string Text(ReadOnlyMemory<byte> data) => Encoding.UTF8.GetString(data.Span);
}
