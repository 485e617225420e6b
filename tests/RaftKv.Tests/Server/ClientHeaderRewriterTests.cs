using System.Buffers;
using System.Buffers.Binary;
using RaftKv.Server.Http2;
using static RaftKv.Tests.Server.HpackDecoderTests;

namespace RaftKv.Tests.Server;

/// <summary>
/// The client-side frame rewriter: the client's bytes go in, what Kestrel would read comes out, and a second decoder
/// (the server's view, fed only the output) must see the repaired fields.
/// </summary>
public sealed class ClientHeaderRewriterTests
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
    private static readonly byte[] EmptySettings = Frame(0x4, 0, 0, []);

    private static byte[] Frame(byte type, byte flags, int stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame, 9);
        return frame;
    }

    private static byte[] Headers(int stream, byte[] block, byte flags = Http2Frame.FlagEndHeaders) => Frame(Http2Frame.TypeHeaders, flags, stream, block);

    private static byte[] Data(int stream, int length) => Frame(0x0, Http2Frame.FlagEndStream, stream, new byte[length]);

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Feeds <paramref name="input"/> in chunks of <paramref name="chunk"/> bytes (as multi-segment buffers), the
    /// way <see cref="RewritingPipeReader"/> does, and returns what the server would read.</summary>
    private static byte[] Pump(ClientHeaderRewriter rewriter, byte[] input, int chunk = int.MaxValue)
    {
        var output = new List<byte>();
        var consumed = 0;
        var received = 0;
        long approved = 0;
        while (true)
        {
            received = (int)Math.Min(input.Length, (long)received + chunk);
            var completed = received == input.Length;
            while (true)
            {
                var buffer = Segmented(input.AsSpan(consumed, received - consumed).ToArray(), 7);
                if (approved < buffer.Length)
                {
                    var scan = rewriter.Scan(buffer.Slice(approved), approved == 0, completed);
                    if (scan.Action == ScanAction.Forward)
                    {
                        approved += scan.Length;
                        continue;
                    }
                    if (scan.Action == ScanAction.Replace)
                    {
                        Assert.Equal(0, approved);
                        output.AddRange(scan.Replacement.ToArray());
                        consumed += (int)scan.Length;
                        continue;
                    }
                }
                if (approved == 0) break;
                output.AddRange(buffer.Slice(0, approved).ToArray());
                consumed += (int)approved;
                approved = 0;
            }
            if (completed) break;
        }
        Assert.Equal(input.Length, consumed);
        return output.ToArray();
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is null) return;
            RunningIndex = previous.RunningIndex + previous.Memory.Length;
            previous.Next = this;
        }
    }

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int segmentLength)
    {
        if (bytes.Length == 0) return ReadOnlySequence<byte>.Empty;
        var first = new Segment(bytes.AsMemory(0, Math.Min(segmentLength, bytes.Length)), null);
        var last = first;
        for (var i = segmentLength; i < bytes.Length; i += segmentLength) last = new Segment(bytes.AsMemory(i, Math.Min(segmentLength, bytes.Length - i)), last);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>The server's view: frames parsed, header blocks assembled and decoded with its own table.</summary>
    private sealed class ServerView(int tableSize = 4096)
    {
        public HpackDecoder Decoder { get; } = new(tableSize);
        public List<(byte Type, byte Flags, int Stream, int Length)> Frames { get; } = [];
        public List<string> Blocks { get; } = [];

        public ServerView Read(byte[] bytes)
        {
            Assert.Equal(Preface, bytes[..24]);
            var block = new List<byte>();
            for (var position = 24; position < bytes.Length;)
            {
                var frame = Http2Frame.ReadHeader(bytes.AsSpan(position, 9));
                var payload = bytes.AsSpan(position + 9, frame.Length);
                Frames.Add((frame.Type, frame.Flags, frame.StreamId, frame.Length));
                position += 9 + frame.Length;
                if (frame.Type is not (Http2Frame.TypeHeaders or Http2Frame.TypeContinuation)) continue;
                if (frame.Type == Http2Frame.TypeHeaders)
                {
                    var start = (frame.Flags & Http2Frame.FlagPadded) != 0 ? 1 : 0;
                    var padding = start == 1 ? payload[0] : 0;
                    if ((frame.Flags & Http2Frame.FlagPriority) != 0) start += 5;
                    payload = payload[start..^padding];
                }
                block.AddRange(payload.ToArray());
                if ((frame.Flags & Http2Frame.FlagEndHeaders) == 0) continue;
                Blocks.Add(Decode(Decoder, block.ToArray()));
                block.Clear();
            }
            return this;
        }
    }

    private static ClientHeaderRewriter NewRewriter(int maxFrameSize = 16_384) =>
        new(new ClientHeaderRewriterOptions { MaxFrameSizeBytes = maxFrameSize, FallbackAuthority = "127.0.0.1:2379" });

    [Fact]
    public void EtcdctlStatusRequest_AuthorityLosesItsScheme_AndNothingElseChanges()
    {
        var input = Concat(Preface, EmptySettings, Headers(1, Hex(EtcdctlStatusBlock)), Data(1, 5));
        var rewriter = NewRewriter();
        var server = new ServerView().Read(Pump(rewriter, input));
        Assert.Equal(string.Join('\n', ":method: POST", ":scheme: http", ":path: /etcdserverpb.Maintenance/Status", ":authority: 127.0.0.1:23791",
            "content-type: application/grpc", "user-agent: grpc-go/1.33.3", "te: trailers", "grpc-timeout: 4968158u", "client-api-version: 3.4"), Assert.Single(server.Blocks));
        Assert.Equal(0, server.Decoder.TableCount); // the re-encoded block adds nothing to the server's table
        Assert.Equal("type 4 flags 0 stream 0, type 1 flags 4 stream 1, type 0 flags 1 stream 1",
            string.Join(", ", server.Frames.Select(f => $"type {f.Type} flags {f.Flags} stream {f.Stream}")));
        Assert.True(rewriter.IsReencoding);
        Assert.Equal(1, rewriter.RewrittenFields);
        Assert.Equal(":authority 'http://127.0.0.1:23791' -> '127.0.0.1:23791'", rewriter.LastRewrite);
    }

    [Fact]
    public void CleanBlocks_AreForwardedByteForByte()
    {
        // RFC 7541 C.4.1 and C.4.2: the second refers to the first's dynamic entry; both pass as sent.
        var input = Concat(Preface, EmptySettings, Headers(1, Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"), 0x5), Data(3, 100),
            Headers(3, Hex("8286 84be 5886 a8eb 1064 9cbf")));
        foreach (var chunk in new[] { int.MaxValue, 1, 5, 13 })
        {
            var rewriter = NewRewriter();
            Assert.Equal(input, Pump(rewriter, input, chunk));
            Assert.False(rewriter.IsReencoding);
            Assert.True(rewriter.IsWatching);
        }
    }

    [Fact]
    public void SecondRequest_ReferringToTheDynamicTable_IsRewrittenToo()
    {
        // Request 1 adds ":authority: http://h:1" (literal, incremental, raw) to the client's table; request 2 names it by index 62.
        var first = Hex("82 86 84 41 0a" + Convert.ToHexString("http://h:1"u8));
        var second = Hex("82 86 84 be");
        var input = Concat(Preface, Headers(1, first, 0x5), Headers(3, second, 0x5));
        foreach (var chunk in new[] { int.MaxValue, 1, 10 })
        {
            var server = new ServerView().Read(Pump(NewRewriter(), input, chunk));
            Assert.Equal([":method: GET\n:scheme: http\n:path: /\n:authority: h:1", ":method: GET\n:scheme: http\n:path: /\n:authority: h:1"], server.Blocks);
        }
    }

    [Fact]
    public void AfterTheFirstRewrite_LaterCleanBlocksAreReencoded_SoTablesCannotDisagree()
    {
        // Block 1 is clean and indexes www.example.com (forwarded: both tables hold it); block 2 needs a repair and indexes
        // "x: y" in the client's table only; block 3 is clean but names "x: y" by index 62, which the server lacks.
        var one = Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff");
        var two = Hex("82 86 84 01 0c" + Convert.ToHexString("http://a:1/p"u8) + "40 01 78 01 79");
        var three = Hex("82 86 84 be bf");
        var input = Concat(Preface, Headers(1, one, 0x5), Headers(3, two, 0x5), Headers(5, three, 0x5));
        var rewriter = NewRewriter();
        var server = new ServerView().Read(Pump(rewriter, input));
        Assert.Equal(
        [
            ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com",
            ":method: GET\n:scheme: http\n:path: /\n:authority: a:1\nx: y",
            ":method: GET\n:scheme: http\n:path: /\nx: y\n:authority: www.example.com",
        ], server.Blocks);
        Assert.Equal(1, server.Decoder.TableCount); // only block 1's entry, forwarded as sent
        Assert.Equal(1, rewriter.RewrittenFields);
    }

    [Fact]
    public void ContinuationPaddingAndPriority_AreFollowed_AndPriorityKept()
    {
        var block = Hex(EtcdctlStatusBlock);
        // HEADERS with PADDED (3 bytes of padding) and PRIORITY, then the block split over two CONTINUATION frames.
        var headersPayload = Concat([3], [0x80, 0, 0, 7, 15], block[..20], [0, 0, 0]);
        var input = Concat(Preface,
            Frame(Http2Frame.TypeHeaders, Http2Frame.FlagPadded | Http2Frame.FlagPriority | Http2Frame.FlagEndStream, 1, headersPayload),
            Frame(Http2Frame.TypeContinuation, 0, 1, block[20..50]),
            Frame(Http2Frame.TypeContinuation, Http2Frame.FlagEndHeaders, 1, block[50..]));
        foreach (var chunk in new[] { int.MaxValue, 1, 9 })
        {
            var output = Pump(NewRewriter(), input, chunk);
            var server = new ServerView().Read(output);
            Assert.Contains(":authority: 127.0.0.1:23791\n", Assert.Single(server.Blocks), StringComparison.Ordinal);
            var headers = Assert.Single(server.Frames);
            Assert.Equal(Http2Frame.FlagPriority | Http2Frame.FlagEndStream | Http2Frame.FlagEndHeaders, headers.Flags);
            Assert.Equal([0x80, 0, 0, 7, 15], output[(24 + 9)..(24 + 9 + 5)]); // exclusive, depends on stream 7, weight 15
        }
    }

    [Fact]
    public void LargeRewrittenBlock_IsSplitToTheMaxFrameSize()
    {
        var value = new string('v', 40_000);
        var block = Concat(Hex("82 86 84 01 0c" + Convert.ToHexString("http://a:1/p"u8) + "00 01 62"), StringLiteral(value));
        var input = Concat(Preface, Headers(1, block[..16_000], 0), Frame(Http2Frame.TypeContinuation, 0, 1, block[16_000..32_000]),
            Frame(Http2Frame.TypeContinuation, Http2Frame.FlagEndHeaders, 1, block[32_000..]));
        var server = new ServerView().Read(Pump(NewRewriter(), input));
        Assert.Equal($":method: GET\n:scheme: http\n:path: /\n:authority: a:1\nb: {value}", Assert.Single(server.Blocks));
        Assert.All(server.Frames, f => Assert.True(f.Length <= 16_384));
        Assert.Equal(3, server.Frames.Count);
        Assert.Equal([Http2Frame.TypeHeaders, Http2Frame.TypeContinuation, Http2Frame.TypeContinuation], server.Frames.Select(f => f.Type));
        Assert.Equal(Http2Frame.FlagEndHeaders, server.Frames[^1].Flags);
    }

    private static byte[] StringLiteral(string value)
    {
        var writer = new ArrayBufferWriter<byte>();
        HpackLiteralEncoder.WriteInteger(writer, 0, 7, value.Length);
        writer.Write(System.Text.Encoding.ASCII.GetBytes(value));
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] Poison(int stream) => Frame(Http2Frame.TypeHeaders, Http2Frame.FlagEndHeaders, stream, Hex("ff 3f"));

    [Fact]
    public void TableSizeUpdate_IsHonouredAndConsumed()
    {
        // Block 1 indexes a bad authority; block 2 first shrinks the table to 0 (evicting it), then sends a literal.
        var one = Hex("82 86 84 41 0a" + Convert.ToHexString("http://h:1"u8));
        var two = Hex("20 82 86 84 01 03" + Convert.ToHexString("h:2"u8));
        var rewriter = NewRewriter();
        var server = new ServerView().Read(Pump(rewriter, Concat(Preface, Headers(1, one, 0x5), Headers(3, two, 0x5))));
        Assert.Equal(":method: GET\n:scheme: http\n:path: /\n:authority: h:2", server.Blocks[1]);
        // An index into the now empty table is an error, and so, since re-encoding has begun, a connection error.
        var three = Hex("20 be");
        var output = Pump(NewRewriter(), Concat(Preface, Headers(1, one, 0x5), Headers(3, three, 0x5)));
        Assert.EndsWith(Convert.ToHexString(Poison(3)), Convert.ToHexString(output), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("80")] // index 0
    [InlineData("c0")] // dynamic index 64, table empty
    [InlineData("41 81 ff")] // bad Huffman (8 bits of padding)
    [InlineData("41 20 61")] // string overruns the block
    public void MalformedBlock_BeforeAnyRewrite_IsForwardedForKestrelToRefuse(string hex)
    {
        var input = Concat(Preface, Headers(1, Hex(hex), 0x5), Data(1, 3));
        var rewriter = NewRewriter();
        Assert.Equal(input, Pump(rewriter, input));
        Assert.False(rewriter.IsWatching);
        Assert.NotNull(rewriter.StopReason);
    }

    [Theory]
    [InlineData("80")]
    [InlineData("ff 10")] // index 143, beyond the 61 + 7 entries
    [InlineData("41 81 ff")]
    public void MalformedBlock_AfterARewrite_BecomesAConnectionError(string hex)
    {
        var repaired = Headers(1, Hex(EtcdctlStatusBlock));
        var input = Concat(Preface, repaired, Headers(3, Hex(hex), 0x5), Data(3, 3));
        var rewriter = NewRewriter();
        var output = Pump(rewriter, input);
        // Index 190 is past any 4096-byte table (61 + 128 entries): Kestrel answers GOAWAY(COMPRESSION_ERROR). The rest
        // passes, for it to ignore.
        Assert.EndsWith(Convert.ToHexString(Concat(Poison(3), Data(3, 3))),
            Convert.ToHexString(output), StringComparison.Ordinal);
        Assert.False(rewriter.IsWatching);
    }

    [Fact]
    public void HostileFrames_StopTheWatch_WithoutThrowing()
    {
        var block = Hex(EtcdctlStatusBlock);
        var cases = new[]
        {
            Headers(1, new byte[70_000]), // frame above SETTINGS_MAX_FRAME_SIZE
            Frame(Http2Frame.TypeHeaders, Http2Frame.FlagPadded | Http2Frame.FlagEndHeaders, 1, [200, 1, 2]), // padding past the end
            Concat(Headers(1, block[..10], 0), Data(1, 1)), // block interrupted by DATA
            Concat(Headers(1, block[..10], 0), Frame(Http2Frame.TypeContinuation, Http2Frame.FlagEndHeaders, 3, block[10..])), // other stream
            Concat(Enumerable.Range(0, 6).Select(i => Frame(i == 0 ? Http2Frame.TypeHeaders : Http2Frame.TypeContinuation, 0, 1, new byte[16_000])).ToArray()), // > 64 KiB
            Concat(Headers(1, block[..10], 0)), // the connection ends inside the block
        };
        foreach (var frames in cases)
        {
            var input = Concat(Preface, frames);
            var rewriter = NewRewriter();
            Assert.Equal(input, Pump(rewriter, input, 4096));
        }
    }

    [Fact]
    public void StrayContinuationAndOtherFrames_PassUntouched()
    {
        var input = Concat(Preface, EmptySettings, Frame(0x6, 0, 0, new byte[8]), Frame(Http2Frame.TypeContinuation, Http2Frame.FlagEndHeaders, 1, [0x82]),
            Frame(0x8, 0, 0, [0, 0, 1, 0]));
        var rewriter = NewRewriter();
        Assert.Equal(input, Pump(rewriter, input, 3));
        Assert.True(rewriter.IsWatching);
    }
}
