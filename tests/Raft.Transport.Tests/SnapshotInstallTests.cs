using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Net.Client;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Hosting.Tests;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport.Tests;

/// <summary>
/// The receiving side of InstallSnapshot against a fake sender writing chunks by hand: what reaches
/// <see cref="ISnapshotPayloads.AcceptPayload"/> and the host, and what is refused (raft_peer.proto's rules).
/// </summary>
public sealed class SnapshotInstallTests : IAsyncLifetime
{
    private const int ChunkBytes = 64 * 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly byte[] Payload = PayloadStateMachine.Encode(25, Enumerable.Range(0, 40).Select(i => $"item{i}").ToArray());
    private static readonly Message Announced = SnapshotWire.SnapshotMessage(1, 2, 20, "sender's descriptor"u8.ToArray());
    private readonly List<IAsyncDisposable> _disposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var d in _disposables) await d.DisposeAsync();
    }

    private async Task<Receiver> ReceiverAsync(bool payloads = true, long maxPayloadBytes = 1L << 40)
    {
        var peer = await TestPeer.StartAsync();
        _disposables.Add(peer);
        var machine = new PayloadStateMachine(2);
        var transport = peer.Attach(new TransportOptions
        {
            LocalId = 2, ClusterId = SnapshotWire.ClusterId, Peers = new Dictionary<ulong, Uri>(),
            SnapshotPayloads = payloads ? machine : null, MaxSnapshotPayloadBytes = maxPayloadBytes,
        });
        _disposables.Add(transport);
        var inbox = new RecordingInbox();
        transport.Start(inbox);
        var channel = GrpcChannel.ForAddress(peer.Address);
        _disposables.Add(new AsyncDisposable(channel.Dispose));
        return new Receiver(machine, inbox, new RaftPeer.RaftPeerClient(channel));
    }

    [Fact]
    public async Task A_payload_reaches_AcceptPayload_and_the_host_gets_the_message_with_the_receivers_descriptor()
    {
        var r = await ReceiverAsync();
        var chunks = SnapshotWire.Chunks(Announced, SnapshotBody.Payload, Payload, ChunkBytes);
        Assert.True(chunks.Count > 20);

        var reply = await SnapshotWire.InstallAsync(r.Client, chunks);

        Assert.True(reply.Accepted, reply.Error);
        var accepted = Assert.Single(r.Machine.Accepted);
        Assert.Equal((20ul, 25ul), (accepted.SnapshotIndex, accepted.StateIndex));
        var delivered = Assert.Single(r.Inbox.Delivered);
        Assert.Equal(accepted.Descriptor, delivered.Snapshot!.Data.ToArray());
        Assert.Equal(Announced.Snapshot!.Metadata, delivered.Snapshot.Metadata);
        Assert.Equal((1ul, 2ul, MessageType.Snapshot), (delivered.From, delivered.To, delivered.Type));
        r.Machine.Restore(delivered.Snapshot.Data);
        Assert.Equal(40, r.Machine.Items.Count);
    }

    [Fact]
    public async Task A_chunk_with_a_bad_checksum_is_refused_nothing_is_staged_and_a_retry_succeeds()
    {
        var r = await ReceiverAsync();
        var chunks = SnapshotWire.Chunks(Announced, SnapshotBody.Payload, Payload, ChunkBytes);
        var bad = chunks[5].Data.ToByteArray();
        bad[100] ^= 0x80;
        var corrupt = chunks.Select((c, i) => i == 5 ? new SnapshotChunk(c) { Data = Google.Protobuf.ByteString.CopyFrom(bad) } : c).ToList();

        var reply = await SnapshotWire.InstallAsync(r.Client, corrupt);

        Assert.False(reply.Accepted);
        Assert.Contains("chunk 5", reply.Error, StringComparison.Ordinal);
        Assert.Contains("corrupt", reply.Error, StringComparison.Ordinal);
        // AcceptPayload saw the transport's refusal as InvalidDataException from its stream, and staged nothing.
        Assert.IsType<InvalidDataException>(Assert.Single(r.Machine.AcceptFailures));
        Assert.Empty(r.Machine.Accepted);
        Assert.Equal(0, r.Machine.StagedCount);
        Assert.Empty(r.Inbox.Delivered);

        Assert.True((await SnapshotWire.InstallAsync(r.Client, chunks)).Accepted);
        Assert.Single(r.Inbox.Delivered);
    }

    [Fact]
    public async Task A_call_that_ends_without_its_final_chunk_is_refused_as_truncated()
    {
        var r = await ReceiverAsync();
        var chunks = SnapshotWire.Chunks(Announced, SnapshotBody.Payload, Payload, ChunkBytes);

        var reply = await SnapshotWire.InstallAsync(r.Client, chunks.Take(chunks.Count - 1));

        Assert.False(reply.Accepted);
        Assert.Contains("truncated", reply.Error, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(Assert.Single(r.Machine.AcceptFailures));
        Assert.Empty(r.Machine.Accepted);
        Assert.Empty(r.Inbox.Delivered);
    }

    [Fact]
    public async Task A_trailer_whose_total_differs_from_what_arrived_is_refused()
    {
        var r = await ReceiverAsync();
        var chunks = SnapshotWire.Chunks(Announced, SnapshotBody.Payload, Payload, ChunkBytes);
        chunks[^1].TotalBytes += ChunkBytes; // the sender sent a chunk that never arrived; every checksum is fine

        var reply = await SnapshotWire.InstallAsync(r.Client, chunks);

        Assert.False(reply.Accepted);
        Assert.Contains($"the sender sent {Payload.Length + ChunkBytes} bytes but {Payload.Length} arrived", reply.Error, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(Assert.Single(r.Machine.AcceptFailures));
        Assert.Empty(r.Machine.Accepted);
        Assert.Empty(r.Inbox.Delivered);
    }

    [Fact]
    public async Task A_second_install_while_a_payload_is_being_accepted_is_refused_as_busy()
    {
        var r = await ReceiverAsync();
        var chunks = SnapshotWire.Chunks(Announced, SnapshotBody.Payload, Payload, ChunkBytes);
        r.Machine.HoldAccepts.Reset();
        using var first = r.Client.InstallSnapshot();
        await first.RequestStream.WriteAsync(chunks[0]);
        await WaitUntilAsync(() => r.Machine.AcceptsStarted == 1);

        var second = await SnapshotWire.InstallAsync(r.Client, chunks);

        Assert.False(second.Accepted);
        Assert.Contains("receiver is busy", second.Error, StringComparison.Ordinal);
        Assert.Equal(1, r.Machine.AcceptsStarted); // refused, not queued
        r.Machine.HoldAccepts.Set();
        foreach (var chunk in chunks.Skip(1)) await first.RequestStream.WriteAsync(chunk);
        await first.RequestStream.CompleteAsync();
        Assert.True((await first.ResponseAsync).Accepted);
        Assert.Single(r.Inbox.Delivered);
    }

    [Fact]
    public async Task Cancelling_the_call_cancels_AcceptPayload_and_frees_the_receiver()
    {
        var r = await ReceiverAsync();
        var chunks = SnapshotWire.Chunks(Announced, SnapshotBody.Payload, Payload, ChunkBytes);
        r.Machine.HoldAccepts.Reset();
        using (var call = r.Client.InstallSnapshot())
        {
            await call.RequestStream.WriteAsync(chunks[0]);
            await WaitUntilAsync(() => r.Machine.AcceptsStarted == 1);
        } // disposing an unfinished call cancels it
        await WaitUntilAsync(() => !r.Machine.AcceptFailures.IsEmpty);
        Assert.IsType<OperationCanceledException>(Assert.Single(r.Machine.AcceptFailures), exactMatch: false);
        r.Machine.HoldAccepts.Set();
        var reply = await PollAsync(() => SnapshotWire.InstallAsync(r.Client, chunks), reply => !reply.Error.Contains("busy", StringComparison.Ordinal));
        Assert.True(reply.Accepted, reply.Error);
        Assert.Single(r.Inbox.Delivered);
    }

    [Fact]
    public async Task A_payload_over_the_limit_is_refused()
    {
        var r = await ReceiverAsync(maxPayloadBytes: 200_000);

        var reply = await SnapshotWire.InstallAsync(r.Client, SnapshotWire.Chunks(Announced, SnapshotBody.Payload, Payload, ChunkBytes));

        Assert.False(reply.Accepted);
        Assert.Contains("exceeds the limit of 200000 bytes", reply.Error, StringComparison.Ordinal);
        Assert.Empty(r.Machine.Accepted);
        Assert.Empty(r.Inbox.Delivered);
    }

    [Fact]
    public async Task Payloads_configured_on_one_side_only_are_refused_both_ways()
    {
        var withPayloads = await ReceiverAsync(payloads: true);
        var without = await ReceiverAsync(payloads: false);
        var inline = SnapshotWire.SnapshotMessage(1, 2, 20, Payload);

        var inlineToPayloads = await SnapshotWire.InstallAsync(withPayloads.Client, SnapshotWire.Chunks(inline, SnapshotBody.Inline, Payload, ChunkBytes));
        var payloadToInline = await SnapshotWire.InstallAsync(without.Client, SnapshotWire.Chunks(Announced, SnapshotBody.Payload, Payload, ChunkBytes));

        Assert.False(inlineToPayloads.Accepted);
        Assert.Contains("sent it inline", inlineToPayloads.Error, StringComparison.Ordinal);
        Assert.False(payloadToInline.Accepted);
        Assert.Contains("has no ISnapshotPayloads", payloadToInline.Error, StringComparison.Ordinal);
        Assert.Empty(withPayloads.Inbox.Delivered);
        Assert.Empty(without.Inbox.Delivered);
    }

    [Fact]
    public async Task Without_payloads_inline_data_arrives_whole_from_current_and_from_older_senders()
    {
        var r = await ReceiverAsync(payloads: false);
        var inline = SnapshotWire.SnapshotMessage(1, 2, 20, Payload);

        var current = await SnapshotWire.InstallAsync(r.Client, SnapshotWire.Chunks(inline, SnapshotBody.Inline, Payload, ChunkBytes));
        var legacy = await SnapshotWire.InstallAsync(r.Client, SnapshotWire.LegacyChunks(inline, Payload, ChunkBytes));

        Assert.True(current.Accepted, current.Error);
        Assert.True(legacy.Accepted, legacy.Error);
        Assert.Equal(2, r.Inbox.Delivered.Count);
        Assert.All(r.Inbox.Delivered, m => Assert.Equal(Payload, m.Snapshot!.Data.ToArray()));
        Assert.Empty(r.Machine.Accepted); // never involved
    }

    [Fact]
    public async Task Inline_data_with_a_bad_chunk_checksum_is_refused()
    {
        var r = await ReceiverAsync(payloads: false);
        var chunks = SnapshotWire.Chunks(SnapshotWire.SnapshotMessage(1, 2, 20, Payload), SnapshotBody.Inline, Payload, ChunkBytes);
        chunks[3].DataCrc32C ^= 1;

        var reply = await SnapshotWire.InstallAsync(r.Client, chunks);

        Assert.False(reply.Accepted);
        Assert.Contains("chunk 3", reply.Error, StringComparison.Ordinal);
        Assert.Empty(r.Inbox.Delivered);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (stopwatch.Elapsed > Bound) throw new TimeoutException("condition not reached");
            await Task.Delay(5);
        }
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> attempt, Func<T, bool> done)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var result = await attempt();
            if (done(result) || stopwatch.Elapsed > Bound) return result;
            await Task.Delay(5);
        }
    }

    private sealed record Receiver(PayloadStateMachine Machine, RecordingInbox Inbox, RaftPeer.RaftPeerClient Client);

    private sealed class AsyncDisposable(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>An inbox that takes everything and remembers it.</summary>
internal sealed class RecordingInbox : IRaftInbox
{
    public ConcurrentQueue<Message> Delivered { get; } = new();

    public ConcurrentQueue<(ulong Peer, bool Delivered)> Snapshots { get; } = new();

    public bool TryDeliver(Message message)
    {
        Delivered.Enqueue(message);
        return true;
    }

    public void ReportUnreachable(ulong peerId)
    {
    }

    public void ReportSnapshot(ulong peerId, bool delivered) => Snapshots.Enqueue((peerId, delivered));
}
