using System.Text;
using System.Text.Json;

namespace RaftKv.Server.Gateway;

/// <summary>
/// Google.Protobuf's <c>JsonParser</c> reads every JSON number as a double, so an integer above 2^53 written as a bare
/// number loses its low bits: <c>{"ID": 611542006080185859}</c> became lease 611542006080185856, and the lease was "not
/// found". Go's protojson reads such numbers exactly, and clients rely on it (etcd3gw and Patroni send lease ids as JSON
/// numbers). Quoting those integers first keeps them exact: protojson accepts a quoted integer for every integer field.
/// </summary>
internal static class JsonLargeIntegers
{
    // 2^53 has 16 digits: every integer of up to 15 digits is exact as a double, so shorter numbers are left alone
    // (and enum values, which must stay bare numbers, are never that long).
    private const int DigitsMin = 16;

    /// <summary><paramref name="json"/> with each integer of 16 or more digits quoted; unchanged when it has none or does not parse.</summary>
    public static string Quote(string json)
    {
        if (!HasDigitRun(json)) return json;
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 64 });
        StringBuilder? quoted = null;
        var copied = 0;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.Number || !IsLongInteger(reader.ValueSpan)) continue;
                var start = (int)reader.TokenStartIndex;
                quoted ??= new StringBuilder(json.Length + 16);
                quoted.Append(Encoding.UTF8.GetString(bytes, copied, start - copied)).Append('"')
                    .Append(Encoding.UTF8.GetString(reader.ValueSpan)).Append('"');
                copied = start + reader.ValueSpan.Length;
            }
        }
        catch (JsonException)
        {
            return json; // the protobuf parser reports what is wrong with it, in its own words
        }
        return quoted is null ? json : quoted.Append(Encoding.UTF8.GetString(bytes, copied, bytes.Length - copied)).ToString();
    }

    private static bool HasDigitRun(string json)
    {
        var run = 0;
        foreach (var c in json)
        {
            run = char.IsAsciiDigit(c) ? run + 1 : 0;
            if (run >= DigitsMin) return true;
        }
        return false;
    }

    private static bool IsLongInteger(ReadOnlySpan<byte> number)
    {
        if (number.IndexOfAny(".eE"u8) >= 0) return false;
        var digits = number.Length - (number[0] == (byte)'-' ? 1 : 0);
        return digits >= DigitsMin;
    }
}
