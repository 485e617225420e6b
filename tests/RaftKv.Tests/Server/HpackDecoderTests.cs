using System.Text;
using RaftKv.Server.Http2;

namespace RaftKv.Tests.Server;

/// <summary>The HPACK decoder against RFC 7541 Appendix C and what etcdctl 3.4 really sends.</summary>
public sealed class HpackDecoderTests
{
    internal static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    internal static string Decode(HpackDecoder decoder, byte[] block)
    {
        var fields = new HeaderFieldList(64 * 1024);
        decoder.Decode(block, fields);
        return fields.ToString();
    }

    [Fact]
    public void Huffman_RfcExample()
    {
        // RFC 7541 C.4.1: "www.example.com"
        var output = new byte[32];
        var written = HpackHuffman.Decode(Hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff"), output);
        Assert.Equal("www.example.com", Encoding.ASCII.GetString(output, 0, written));
    }

    [Theory]
    [InlineData("f1e3 c2e5 f23a 6ba0 ab90 f4ff ff")] // 8 more bits of padding
    [InlineData("f1e3 c2e5 f23a 6ba0 ab90 f4fe")] // padding that is not all ones
    [InlineData("ffff fffc")] // EOS (30 ones) inside the string
    public void Huffman_RefusesBadPaddingAndEos(string hex) => Assert.Equal(-1, HpackHuffman.Decode(Hex(hex), new byte[64]));

    [Fact]
    public void RfcC4_RequestsWithHuffman_ShareTheDynamicTable()
    {
        var decoder = new HpackDecoder(4096);
        Assert.Equal(":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com",
            Decode(decoder, Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")));
        Assert.Equal(57, decoder.TableSizeBytes);
        // C.4.2: "be" is dynamic index 62, the authority added by the first request.
        Assert.Equal(":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\ncache-control: no-cache",
            Decode(decoder, Hex("8286 84be 5886 a8eb 1064 9cbf")));
        Assert.Equal(110, decoder.TableSizeBytes);
        Assert.Equal(":method: GET\n:scheme: https\n:path: /index.html\n:authority: www.example.com\ncustom-key: custom-value",
            Decode(decoder, Hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")));
        Assert.Equal(164, decoder.TableSizeBytes);
        Assert.Equal(3, decoder.TableCount);
    }

    /// <summary>The HEADERS payload etcdctl 3.4.23 sent for <c>--endpoints=http://127.0.0.1:23791 endpoint status</c> (captured).</summary>
    internal const string EtcdctlStatusBlock =
        "8386459760a924882d9dcb6571afa066a925a87510ac6e48d36a3f41909d29aee30c044eae05c0b86e09975f0f5f8b1d75d0620d263d4c4d65647a8b9acac8b4c76" +
        "02bb2caecff40027465864d833505b11f40899acac8b24d494f6a7f8669f71e0b6f5b408d25062d495875996ee5b1063d5f03332e34";

    [Fact]
    public void EtcdctlStatusRequest_CarriesTheSchemeInTheAuthority()
    {
        var decoder = new HpackDecoder(4096);
        Assert.Equal(string.Join('\n', ":method: POST", ":scheme: http", ":path: /etcdserverpb.Maintenance/Status", ":authority: http://127.0.0.1:23791",
                "content-type: application/grpc", "user-agent: grpc-go/1.33.3", "te: trailers", "grpc-timeout: 4968158u", "client-api-version: 3.4"),
            Decode(decoder, Hex(EtcdctlStatusBlock)));
        // grpc-go indexes every field it does not find whole in the static table (as hpack 4.0 also decodes it).
        Assert.Equal(7, decoder.TableCount);
        Assert.Equal(396, decoder.TableSizeBytes);
    }

    [Fact]
    public void TableSizeUpdate_EvictsAndIsLimited()
    {
        var decoder = new HpackDecoder(4096);
        Decode(decoder, Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"));
        Assert.Equal(1, decoder.TableCount);
        // 0x20: size update to 0 (evicts all), then 0x3f e1 1f: back to 4096, then an indexed field.
        Assert.Equal(":method: GET", Decode(decoder, Hex("20 3fe11f 82")));
        Assert.Equal(0, decoder.TableCount);
        Assert.Throws<HpackDecodingException>(() => Decode(new HpackDecoder(4096), Hex("3fe21f"))); // 4097: above the setting
        Assert.Throws<HpackDecodingException>(() => Decode(new HpackDecoder(4096), Hex("82 20"))); // after a field
    }

    [Fact]
    public void EntryLargerThanTheTable_EmptiesIt()
    {
        var decoder = new HpackDecoder(64);
        Decode(decoder, Hex("40 01 61 01 62")); // a: b, 34 bytes
        Assert.Equal(1, decoder.TableCount);
        Decode(decoder, Hex("40 01 63 20" + string.Concat(Enumerable.Repeat("78", 32)))); // c: 32 x's, 65 bytes > 64
        Assert.Equal(0, decoder.TableCount);
        Assert.Equal(0, decoder.TableSizeBytes);
    }

    [Theory]
    [InlineData("80")] // index 0
    [InlineData("be")] // dynamic index 62 in an empty table
    [InlineData("41 05 61 62")] // string overruns the block
    [InlineData("41")] // block ends before the string
    [InlineData("41 81 ff")] // Huffman string of only padding bits, 8 of them
    [InlineData("ff ff ff ff ff 0f")] // integer too large
    [InlineData("ff 80")] // block ends inside an integer
    public void MalformedBlocks_AreDecodingErrors(string hex) =>
        Assert.Throws<HpackDecodingException>(() => Decode(new HpackDecoder(4096), Hex(hex)));

    [Fact]
    public void DecodedListLimit_StopsIndexAmplification()
    {
        var decoder = new HpackDecoder(4096);
        var big = "40 01 61 7f a1 1e" + string.Concat(Enumerable.Repeat("78", 4000)); // a: 4000 x's, incremental
        var fields = new HeaderFieldList(16 * 1024);
        decoder.Decode(Hex(big), fields);
        // Each "be" byte is 4033 decoded bytes: five pass 16 KiB.
        Assert.Throws<HpackDecodingException>(() => decoder.Decode(Hex("be be be be be"), fields));
    }
}
