using System.Globalization;
using System.Text;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// The content of generation G: "gen" = G and <see cref="KeyCount"/>(G) keys "g&lt;G&gt;-&lt;i&gt;", one batch at
/// applied index 1000 x G. Generation 0 is the empty first backend. Two generations share no user key but "gen".
/// </summary>
public static class Generation
{
    public static ReadOnlySpan<byte> MarkerKey => "gen"u8;

    public static int KeyCount(int g) => 1_000 + g % 7 * 100;

    public static ulong AppliedIndex(int g) => 1_000UL * (ulong)g;

    public static string Value(int g, int i) => $"value of generation {g}, key {i}, padded to a hundred bytes or so: {new string('x', 40)}";

    public static void Commit(KvBackend backend, int g)
    {
        using var batch = new BackendBatch();
        batch.Put(MarkerKey, Encoding.ASCII.GetBytes(g.ToString(CultureInfo.InvariantCulture)));
        for (var i = 0; i < KeyCount(g); i++)
        {
            batch.Put(Encoding.ASCII.GetBytes($"g{g}-{i:D5}"), Encoding.ASCII.GetBytes(Value(g, i)));
        }
        backend.Commit(batch, AppliedIndex(g));
    }
}
