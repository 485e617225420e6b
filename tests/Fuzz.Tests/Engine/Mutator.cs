using System.Buffers.Binary;

namespace RaftKv.Fuzz.Tests.Engine;

/// <summary>
/// Byte-level mutators shared by every target, in the style of libFuzzer's: bit flips, interesting values, erase,
/// insert, duplicate, truncate, splice with another input, and edits of little-endian integer and protobuf varint
/// fields to the values that break length checks (0, 1, max, just past a boundary). All driven by one <see cref="Random"/>,
/// so a seed replays exactly.
/// </summary>
public static class Mutator
{
    /// <summary>Input size cap: a mutation never grows an input past this.</summary>
    public const int MaxInputBytes = 256 * 1024;

    private static readonly ulong[] Interesting =
    [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue, 4096, 16 * 1024 * 1024, 256 * 1024 * 1024 + 1,
        2_000_000_000, (ulong)Array.MaxLength, (ulong)Array.MaxLength + 1,
    ];

    /// <summary>One value of the table of boundary integers.</summary>
    public static ulong InterestingValue(Random random) => Interesting[random.Next(Interesting.Length)];

    /// <summary>Applies 1 to <paramref name="maxSteps"/> random byte-level mutations.</summary>
    public static byte[] Mutate(Random random, byte[] input, IReadOnlyList<byte[]> corpus, int maxSteps = 4)
    {
        var data = new List<byte>(input);
        var steps = 1 + random.Next(maxSteps);
        for (var i = 0; i < steps; i++) Step(random, data, corpus);
        if (data.Count > MaxInputBytes) data.RemoveRange(MaxInputBytes, data.Count - MaxInputBytes);
        return [.. data];
    }

    private static void Step(Random random, List<byte> data, IReadOnlyList<byte[]> corpus)
    {
        switch (random.Next(11))
        {
            case 0 when data.Count > 0: // flip one bit
                data[random.Next(data.Count)] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when data.Count > 0: // set a byte to a boundary value
                data[random.Next(data.Count)] = (byte)InterestingValue(random);
                break;
            case 2 when data.Count > 0: // erase a range
                {
                    var at = random.Next(data.Count);
                    data.RemoveRange(at, random.Next(1 + Math.Min(64, data.Count - at)));
                    break;
                }
            case 3: // insert random bytes
                {
                    var at = random.Next(data.Count + 1);
                    var bytes = new byte[random.Next(1, 17)];
                    random.NextBytes(bytes);
                    data.InsertRange(at, bytes);
                    break;
                }
            case 4 when data.Count > 0: // duplicate a range
                {
                    var at = random.Next(data.Count);
                    var length = random.Next(1, 1 + Math.Min(128, data.Count - at));
                    data.InsertRange(random.Next(data.Count + 1), data.GetRange(at, length));
                    break;
                }
            case 5 when data.Count > 0: // truncate
                {
                    var keep = random.Next(data.Count);
                    data.RemoveRange(keep, data.Count - keep);
                    break;
                }
            case 6 when corpus.Count > 0: // splice: our head with another input's tail
                {
                    var other = corpus[random.Next(corpus.Count)];
                    var keep = random.Next(data.Count + 1);
                    var from = other.Length == 0 ? 0 : random.Next(other.Length);
                    data.RemoveRange(keep, data.Count - keep);
                    data.AddRange(other.AsSpan(from).ToArray());
                    break;
                }
            case 7 when data.Count >= 8: // a little-endian integer field set to a boundary value
                {
                    var width = 1 << random.Next(1, 4); // 2, 4 or 8 bytes
                    var at = random.Next(data.Count - width + 1);
                    Span<byte> value = stackalloc byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(value, InterestingValue(random));
                    for (var i = 0; i < width; i++) data[at + i] = value[i];
                    break;
                }
            case 8: // a protobuf varint (a length or a number) set to a boundary value
                {
                    var at = random.Next(data.Count + 1);
                    var old = VarintLength(data, at);
                    data.RemoveRange(at, old);
                    data.InsertRange(at, Varint(InterestingValue(random)));
                    break;
                }
            case 9 when data.Count > 0: // add or subtract a small amount from a byte (off-by-one lengths)
                data[random.Next(data.Count)] += (byte)random.Next(-4, 5);
                break;
            default: // overwrite a range with a copy of another range
                if (data.Count < 2) break;
                {
                    var from = random.Next(data.Count);
                    var to = random.Next(data.Count);
                    var length = Math.Min(random.Next(1, 33), Math.Min(data.Count - from, data.Count - to));
                    var copy = data.GetRange(from, length);
                    for (var i = 0; i < length; i++) data[to + i] = copy[i];
                    break;
                }
        }
    }

    /// <summary>The protobuf varint encoding of <paramref name="value"/>.</summary>
    public static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>(10);
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
        return [.. bytes];
    }

    // Bytes of the varint starting at `at` (0 past the end), at most 10.
    private static int VarintLength(List<byte> data, int at)
    {
        var n = 0;
        while (at + n < data.Count && n < 10)
        {
            if ((data[at + n++] & 0x80) == 0) break;
        }
        return n;
    }
}
