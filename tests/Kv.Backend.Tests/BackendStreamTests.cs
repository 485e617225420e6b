using System.Buffers.Binary;
using System.Text;
using RaftKv.Kv.Backend.Snapshots;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// <see cref="BackendStream"/>: a restored backend is a faithful copy (every stored record and the applied index), and
/// every kind of bad stream is refused naming where, leaving no directory behind.
/// </summary>
public sealed class BackendStreamTests
{
    private static readonly KvBackendOptions Small = BackendContent.Small;

    [Theory]
    [InlineData(0, 0)] // A new backend: only the metadata.
    [InlineData(50, 1)] // Well inside one frame.
    [InlineData(200_000, 2)] // About 20 MiB: many frames.
    public void Restored_backend_equals_the_source(int keys, int seed)
    {
        using var dir = new TempDirectory();
        using var source = KvBackend.Open(dir.Sub("source"), Small);
        if (keys > 0)
        {
            BackendContent.FillRandom(source, keys, seed);
        }
        var bytes = BackendContent.ToBytes(source);
        var index = BackendStream.Restore(new MemoryStream(bytes), dir.Sub("restored"), Small);

        Assert.Equal(source.AppliedIndex, index);
        Assert.False(Directory.Exists(dir.Sub("restored") + ".restoring"));
        using var restored = KvBackend.Open(dir.Sub("restored"), Small);
        var records = BackendContent.AssertSame(source, restored);
        Assert.Equal(keys == 0 ? 2 : keys - keys / 10 + 2, records); // Two metadata records; every tenth key deleted.
        if (keys == 200_000)
        {
            Assert.True(CountFrames(bytes) >= 10, $"only {CountFrames(bytes)} frames");
        }
    }

    [Fact]
    public void A_value_larger_than_a_frame_gets_a_frame_of_its_own()
    {
        using var dir = new TempDirectory();
        using var source = KvBackend.Open(dir.Sub("source"), Small);
        var big = new byte[3 * BackendStream.FrameTargetBytes];
        new Random(3).NextBytes(big);
        using (var batch = new BackendBatch())
        {
            batch.Put("a"u8, "small"u8);
            batch.Put("b"u8, big);
            batch.Put("c"u8, "small"u8);
            source.Commit(batch, 9);
        }
        var bytes = BackendContent.ToBytes(source);
        Assert.Equal(3, CountFrames(bytes)); // Metadata and "a"; "b" alone; "c".
        BackendStream.Restore(new MemoryStream(bytes), dir.Sub("restored"), Small);
        using var restored = KvBackend.Open(dir.Sub("restored"), Small);
        BackendContent.AssertSame(source, restored);
    }

    [Fact]
    public void Write_streams_the_view_not_later_commits()
    {
        using var dir = new TempDirectory();
        using var source = KvBackend.Open(dir.Sub("source"), Small);
        BackendContent.FillRandom(source, 2_000, 4);
        using var view = source.OpenView();
        BackendContent.FillRandom(source, 2_000, 5); // After the view: not in the stream.
        using var stream = new MemoryStream();
        BackendStream.Write(view, stream);
        stream.Position = 0;

        var index = BackendStream.Restore(stream, dir.Sub("restored"), Small);
        Assert.Equal(view.AppliedIndex, index);
        Assert.NotEqual(source.AppliedIndex, index);
        using var restored = KvBackend.Open(dir.Sub("restored"), Small);
        using var restoredView = restored.OpenView();
        BackendContent.AssertSame(view, restoredView);
    }

    [Fact]
    public void Restore_reads_exactly_the_stream_and_not_past_its_trailer()
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 5_000);
        var source = new MemoryStream([.. bytes, .. "more data for someone else"u8]);
        BackendStream.Restore(source, dir.Sub("restored"), Small);
        Assert.Equal(bytes.Length, source.Position);
    }

    [Fact]
    public void A_leftover_build_directory_from_a_crash_is_replaced()
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 100);
        Directory.CreateDirectory(dir.Sub("restored.restoring"));
        File.WriteAllText(Path.Combine(dir.Sub("restored.restoring"), "junk"), "left by a crash");
        BackendStream.Restore(new MemoryStream(bytes), dir.Sub("restored"), Small);
        Assert.False(Directory.Exists(dir.Sub("restored.restoring")));
        using var restored = KvBackend.Open(dir.Sub("restored"), Small);
        Assert.Equal(2UL, restored.AppliedIndex); // One batch of 100 puts, one of the deletes.
    }

    [Fact]
    public void An_existing_target_is_refused_and_left_alone()
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 10);
        Directory.CreateDirectory(dir.Sub("restored"));
        File.WriteAllText(Path.Combine(dir.Sub("restored"), "mine"), "keep");
        var e = Assert.Throws<IOException>(() => BackendStream.Restore(new MemoryStream(bytes), dir.Sub("restored"), Small));
        Assert.Contains("already exists", e.Message);
        Assert.True(File.Exists(Path.Combine(dir.Sub("restored"), "mine")));
    }

    [Theory]
    [InlineData("header", "ends after 0 bytes")]
    [InlineData("inside header", "inside the 32-byte header")]
    [InlineData("after header", "without a trailer")]
    [InlineData("inside block header", "without a trailer")]
    [InlineData("inside frame", "truncated inside the frame")]
    [InlineData("after a frame", "without a trailer")]
    [InlineData("inside trailer", "truncated inside the trailer")]
    [InlineData("last byte", "truncated inside the trailer")]
    public void A_truncated_stream_is_refused_and_nothing_is_left(string cut, string expected)
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 5_000);
        var blocks = BlockOffsets(bytes);
        var length = cut switch
        {
            "header" => 0,
            "inside header" => 20,
            "after header" => 32,
            "inside block header" => 40,
            "inside frame" => blocks[0] + 1_000,
            "after a frame" => blocks[1],
            "inside trailer" => blocks[^1] + 30,
            _ => bytes.Length - 1,
        };
        var e = AssertRefused(dir, bytes[..length]);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_damaged_frame_is_refused_naming_the_block_and_its_offset()
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 5_000);
        var blocks = BlockOffsets(bytes);
        bytes[blocks[1] + 500] ^= 0x01; // One bit inside frame 2's payload.
        var e = AssertRefused(dir, bytes);
        Assert.Contains($"block 2 (byte offset {blocks[1]})", e.Message);
        Assert.Contains("frame CRC mismatch", e.Message);
    }

    [Fact]
    public void A_damaged_block_length_is_refused_before_it_is_trusted()
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 5_000);
        var blocks = BlockOffsets(bytes);
        bytes[blocks[1] + 3] = 0x7F; // Frame 2 now claims about 2 GiB.
        var e = AssertRefused(dir, bytes);
        Assert.Contains($"block 2 (byte offset {blocks[1]}): block header CRC mismatch", e.Message);
    }

    [Fact]
    public void Frames_out_of_order_are_refused()
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 5_000);
        var b = BlockOffsets(bytes);
        Assert.True(b.Length >= 4, "need two frames before the last");
        // Swap frames 2 and 3: each is intact, but the CRC chain breaks at the first moved one.
        byte[] swapped = [.. bytes[..b[1]], .. bytes[b[2]..b[3]], .. bytes[b[1]..b[2]], .. bytes[b[3]..]];
        var e = AssertRefused(dir, swapped);
        Assert.Contains($"block 2 (byte offset {b[1]}): frame CRC mismatch", e.Message);
    }

    [Fact]
    public void A_missing_frame_is_refused()
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 5_000);
        var b = BlockOffsets(bytes);
        byte[] dropped = [.. bytes[..b[1]], .. bytes[b[2]..]];
        var e = AssertRefused(dir, dropped);
        Assert.Contains("block 2", e.Message);
        Assert.Contains("missing, repeated or out of order", e.Message);
    }

    [Fact]
    public void A_foreign_stream_is_refused()
    {
        using var dir = new TempDirectory();
        var e = AssertRefused(dir, Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: example\r\n\r\n"));
        Assert.Contains("at the header: not a backend stream (magic 'GET / HT'", e.Message);
    }

    [Fact]
    public void Keys_out_of_order_are_refused_naming_the_record()
    {
        using var dir = new TempDirectory();
        var bytes = Craft(7, w =>
        {
            AddMeta(w, 7);
            w.Add(Stored("b"), "1"u8, default);
            w.Add(Stored("a"), "2"u8, default);
        });
        var e = AssertRefused(dir, bytes);
        Assert.Contains("frame 1 (byte offset 32), record 4: keys are not in strictly increasing order", e.Message);
    }

    [Fact]
    public void A_repeated_key_is_refused()
    {
        using var dir = new TempDirectory();
        var bytes = Craft(7, w =>
        {
            AddMeta(w, 7);
            w.Add(Stored("a"), "1"u8, default);
            w.Add(Stored("a"), "2"u8, default);
        });
        Assert.Contains("strictly increasing", AssertRefused(dir, bytes).Message);
    }

    [Fact]
    public void A_header_index_that_differs_from_the_metadata_is_refused()
    {
        using var dir = new TempDirectory();
        var bytes = Craft(7, w => AddMeta(w, 8));
        var e = AssertRefused(dir, bytes);
        Assert.Contains("record 1: the applied index record says 8, the header 7", e.Message);
    }

    [Fact]
    public void A_stream_without_the_format_marker_is_refused()
    {
        using var dir = new TempDirectory();
        Span<byte> index = stackalloc byte[8];
        KeySpace.WriteIndex(index, 7);
        var indexBytes = index.ToArray();
        var bytes = Craft(7, w => w.Add(KeySpace.AppliedIndexKey, indexBytes, default));
        Assert.Contains("the metadata: no format marker record", AssertRefused(dir, bytes).Message);
    }

    [Fact]
    public void Cancellation_stops_the_restore_and_leaves_nothing()
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 5_000);
        using var cts = new CancellationTokenSource();
        var source = new CancelAfterStream(new MemoryStream(bytes), cts, cancelAfterBytes: bytes.Length / 2);
        Assert.ThrowsAny<OperationCanceledException>(() => BackendStream.Restore(source, dir.Sub("restored"), Small, cts.Token));
        Assert.True(source.Position < bytes.Length, "the restore read the whole stream before stopping");
        AssertNothingLeft(dir);
    }

    [Fact]
    public void A_failing_source_leaves_nothing()
    {
        using var dir = new TempDirectory();
        var bytes = StreamOf(dir, keys: 5_000);
        var source = new FailAfterStream(new MemoryStream(bytes), failAfterBytes: bytes.Length / 2);
        var e = Assert.Throws<IOException>(() => BackendStream.Restore(source, dir.Sub("restored"), Small));
        Assert.Equal(FailAfterStream.Message, e.Message);
        AssertNothingLeft(dir);
    }

    private static InvalidDataException AssertRefused(TempDirectory dir, byte[] bytes)
    {
        var e = Assert.Throws<InvalidDataException>(() => BackendStream.Restore(new MemoryStream(bytes), dir.Sub("restored"), Small));
        AssertNothingLeft(dir);
        return e;
    }

    private static void AssertNothingLeft(TempDirectory dir)
    {
        Assert.False(Directory.Exists(dir.Sub("restored")), "a refused stream left the target");
        Assert.False(Directory.Exists(dir.Sub("restored.restoring")), "a refused stream left its build directory");
    }

    /// <summary>A stream of a backend with <paramref name="keys"/> random keys of up to 2 KiB values (about 5 frames for 5,000).</summary>
    private static byte[] StreamOf(TempDirectory dir, int keys)
    {
        using var source = KvBackend.Open(dir.Sub("source"), Small);
        BackendContent.FillRandom(source, keys, seed: 6, valueBytesMax: 2_000);
        return BackendContent.ToBytes(source);
    }

    private static byte[] Craft(ulong headerIndex, Action<BackendStreamWriter> add)
    {
        using var stream = new MemoryStream();
        using (var writer = new BackendStreamWriter(stream, headerIndex))
        {
            add(writer);
            writer.Finish(default);
        }
        return stream.ToArray();
    }

    private static void AddMeta(BackendStreamWriter writer, ulong index)
    {
        var indexBytes = new byte[8];
        KeySpace.WriteIndex(indexBytes, index);
        writer.Add(KeySpace.AppliedIndexKey, indexBytes, default); // "\0applied-index" sorts before "\0format".
        writer.Add(KeySpace.FormatKey, KeySpace.FormatValue, default);
    }

    private static byte[] Stored(string userKey) => KeySpace.UserKey(Encoding.ASCII.GetBytes(userKey));

    /// <summary>Start offsets of every block (frames, then the trailer), read from the lengths (the stream is trusted).</summary>
    private static int[] BlockOffsets(byte[] bytes)
    {
        var offsets = new List<int>();
        for (var at = 32; at < bytes.Length && offsets.Count < 100_000; at += 20 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at)))
        {
            offsets.Add(at);
        }
        return [.. offsets];
    }

    private static int CountFrames(byte[] bytes) => BlockOffsets(bytes).Length - 1;

    /// <summary>Cancels a token once a given number of bytes were read: a restore stopped from outside mid-stream.</summary>
    private sealed class CancelAfterStream(Stream inner, CancellationTokenSource cts, long cancelAfterBytes) : PassThroughStream(inner)
    {
        protected override void Consumed(long position)
        {
            if (position >= cancelAfterBytes)
            {
                cts.Cancel();
            }
        }
    }

    /// <summary>Throws an I/O error once a given number of bytes were read: a connection lost mid-stream.</summary>
    private sealed class FailAfterStream(Stream inner, long failAfterBytes) : PassThroughStream(inner)
    {
        public const string Message = "connection reset (test)";

        protected override void Consumed(long position)
        {
            if (position >= failAfterBytes)
            {
                throw new IOException(Message);
            }
        }
    }

    private abstract class PassThroughStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            Consumed(inner.Position);
            return read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected abstract void Consumed(long position);
    }
}
