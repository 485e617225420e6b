using System.Diagnostics;
using System.Text;
using RaftKv.Raft.Hosting.Tests;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport.Tests;

/// <summary>
/// The sending side: a <see cref="GrpcTransport"/> given a snapshot message streams the state machine's payload to
/// a real receiver and reports the outcome to its host, as <see cref="Hosting.IRaftInbox.ReportSnapshot"/>.
/// </summary>
public sealed class SnapshotSendTests : IAsyncLifetime
{
    private const int ChunkBytes = 64 * 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly ChunkTampering _wire = new(); // records only
    private readonly PayloadStateMachine _senderMachine = new(1);
    private readonly RecordingInbox _senderInbox = new();
    private readonly RecordingInbox _receiverInbox = new();
    private PayloadStateMachine _receiverMachine = null!;
    private TestPeer _receiver = null!;
    private GrpcTransport _sender = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task StartAsync(bool receiverHasPayloads)
    {
        for (var i = 1ul; i <= 40; i++) _senderMachine.Apply(new Entry(i, 1, EntryType.Normal, Encoding.UTF8.GetBytes($"e{i}")));
        _receiverMachine = new PayloadStateMachine(2);
        _receiver = await TestPeer.StartAsync(_wire);
        _receiver.Attach(new TransportOptions
        {
            LocalId = 2, ClusterId = SnapshotWire.ClusterId, Peers = new Dictionary<ulong, Uri>(),
            SnapshotPayloads = receiverHasPayloads ? _receiverMachine : null,
        }).Start(_receiverInbox);
        _sender = new GrpcTransport(new TransportOptions
        {
            LocalId = 1, ClusterId = SnapshotWire.ClusterId, Peers = new Dictionary<ulong, Uri> { [2] = _receiver.Address },
            SnapshotChunkBytes = ChunkBytes, SnapshotPayloads = _senderMachine,
            ConnectTimeout = GrpcCluster.ConnectTimeout,
        });
        _sender.Start(_senderInbox);
    }

    public async Task DisposeAsync()
    {
        await _sender.DisposeAsync();
        await _receiver.Transport.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task The_payload_goes_out_in_chunks_of_SnapshotChunkBytes_after_the_message_and_before_a_trailer_with_its_length()
    {
        await StartAsync(receiverHasPayloads: true);

        _sender.Send([SnapshotWire.SnapshotMessage(1, 2, 30, "live:1@40"u8.ToArray())]);
        await WaitUntilAsync(() => !_senderInbox.Snapshots.IsEmpty);

        Assert.Equal([(2ul, true)], _senderInbox.Snapshots);
        var delivered = Assert.Single(_receiverInbox.Delivered);
        Assert.Equal(Assert.Single(_receiverMachine.Accepted).Descriptor, delivered.Snapshot!.Data.ToArray());
        _receiverMachine.Restore(delivered.Snapshot.Data);
        Assert.Equal(_senderMachine.Items, _receiverMachine.Items);

        var seen = _wire.Seen.ToArray();
        var payloadBytes = _senderMachine.LastPayloadBytes;
        Assert.Equal(new SeenChunk(true, SnapshotBody.Payload, 0, ChunkBytes, false, 0), seen[0]); // the descriptor does not travel
        Assert.All(seen[1..^2], c => Assert.Equal(new SeenChunk(false, SnapshotBody.Legacy, 0, ChunkBytes, false, 0), c));
        Assert.InRange(seen[^2].DataBytes, 1, ChunkBytes);
        Assert.Equal(new SeenChunk(false, SnapshotBody.Legacy, 0, 0, true, (ulong)payloadBytes), seen[^1]);
        Assert.Equal(payloadBytes, seen.Sum(c => (long)c.DataBytes));
        Assert.Equal((payloadBytes + ChunkBytes - 1) / ChunkBytes + 1, seen.Length);
    }

    [Fact]
    public async Task A_refusing_receiver_is_reported_undelivered_without_the_sender_waiting_for_the_whole_payload()
    {
        await StartAsync(receiverHasPayloads: false);

        _sender.Send([SnapshotWire.SnapshotMessage(1, 2, 30, "live:1@40"u8.ToArray())]);
        await WaitUntilAsync(() => !_senderInbox.Snapshots.IsEmpty);

        Assert.Equal([(2ul, false)], _senderInbox.Snapshots);
        Assert.Empty(_receiverInbox.Delivered);
        Assert.Empty(_receiverMachine.Accepted);
    }

    [Fact]
    public async Task A_payload_that_cannot_be_opened_fails_that_snapshot_only()
    {
        await StartAsync(receiverHasPayloads: true);

        _sender.Send([SnapshotWire.SnapshotMessage(1, 2, 1000, "live:1@40"u8.ToArray())]); // the machine applied only 40
        await WaitUntilAsync(() => !_senderInbox.Snapshots.IsEmpty);
        _sender.Send([SnapshotWire.SnapshotMessage(1, 2, 30, "live:1@40"u8.ToArray())]);
        await WaitUntilAsync(() => _senderInbox.Snapshots.Count == 2);

        Assert.Equal([(2ul, false), (2ul, true)], _senderInbox.Snapshots);
        Assert.Equal(30ul, Assert.Single(_receiverInbox.Delivered).Snapshot!.Index);
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
}
