using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using RaftKv.Fuzz.Tests.Targets;
using RaftKv.Server.Gateway;

namespace RaftKv.Fuzz.Tests;

/// <summary>The bugs the fuzzer found, each pinned by name (their inputs are also in corpus/, replayed by every run).</summary>
public sealed class RegressionTests
{
    [Fact]
    public void A_snapshot_call_announcing_2_GB_in_one_small_chunk_allocates_only_what_arrives()
    {
        // Before: SnapshotReceiver allocated the announced data_bytes (up to Array.MaxLength) on the first chunk.
        var target = new PeerProtocolTarget();
        var input = PeerProtocolTarget.SnapshotCallInput(new byte[10], announcedBytes: 2_000_000_000);
        target.Run(input); // warm up (JIT)
        var before = GC.GetAllocatedBytesForCurrentThread();
        target.Run(input);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 8L * 1024 * 1024, $"one 10-byte chunk announcing 2 GB allocated {allocated} bytes");
    }

    [Theory]
    [InlineData(0x8000_0000_0000_0000UL)]
    [InlineData(ulong.MaxValue)]
    public void A_snapshot_size_of_2_pow_63_or_more_is_refused_not_an_overflow(ulong announcedBytes)
    {
        // Before: the size became a negative long, passed the limit check and threw OverflowException from the allocation.
        new PeerProtocolTarget().Run(PeerProtocolTarget.SnapshotCallInput(new byte[10], announcedBytes)); // throws on anything but a refusal
    }

    [Fact]
    public async Task A_streamed_request_over_the_limit_is_refused_even_when_it_arrives_in_one_read()
    {
        // Before: JsonObjectReader checked the limit only on a value still incomplete; a whole one in the buffer passed.
        var value = "{\"key\":\"" + new string('A', 20_000) + "\"}";
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes(value));
        await pipe.Writer.CompleteAsync();
        var e = await Assert.ThrowsAsync<JsonException>(async () =>
        {
            await foreach (var _ in JsonObjectReader.ReadAsync(pipe.Reader, 16 * 1024, CancellationToken.None)) { }
        });
        Assert.Contains("larger than the limit of 16384 bytes", e.Message, StringComparison.Ordinal);
    }
}
