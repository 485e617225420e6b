using System.Collections.Concurrent;
using System.Diagnostics;
using RaftKv.Raft.Hosting.InMemory;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>The in-memory network's contract for snapshot payloads, with recording inboxes and stub payloads (no hosts).</summary>
public sealed class InMemoryNetworkPayloadTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly InMemoryNetwork _network = new();

    private static Message Snapshot(ulong from, ulong to) => new()
    {
        Type = MessageType.Snapshot, From = from, To = to, Term = 2,
        Snapshot = new Snapshot(new SnapshotMetadata(10, 2, new ConfState([1, 2, 3])), "sender's descriptor"u8.ToArray()),
    };

    private (IRaftTransport Transport, RecordingInbox Inbox) Join(ulong id, ISnapshotPayloads? payloads)
    {
        var transport = _network.TransportFor(id, payloads);
        var inbox = new RecordingInbox();
        transport.Start(inbox);
        return (transport, inbox);
    }

    [Fact]
    public async Task A_payload_is_copied_off_the_senders_thread_and_delivered_with_the_receivers_descriptor()
    {
        var sender = new StubPayloads(new byte[300_000]);
        var receiver = new StubPayloads([]);
        receiver.Hold.Reset();
        var (one, own) = Join(1, sender);
        var (_, inbox) = Join(2, receiver);
        one.Send([Snapshot(1, 2)]); // returns while the receiver is still held: the copy runs elsewhere
        Assert.Empty(own.Snapshots);
        receiver.Hold.Set();
        await WaitUntilAsync(() => !own.Snapshots.IsEmpty);

        Assert.Equal([(2ul, true)], own.Snapshots);
        var delivered = Assert.Single(inbox.Delivered);
        Assert.Equal("received 300000 bytes"u8.ToArray(), delivered.Snapshot!.Data.ToArray());
        Assert.Equal(new SnapshotMetadata(10, 2, new ConfState([1, 2, 3])), delivered.Snapshot.Metadata);
        Assert.Equal((1ul, 2ul, 2ul), (delivered.From, delivered.To, delivered.Term));
        Assert.Equal(10ul, Assert.Single(sender.Opened));
        Assert.True(sender.StreamsDisposed == 1);
    }

    [Fact]
    public async Task A_receiver_accepts_one_payload_at_a_time_and_refuses_another_meanwhile()
    {
        var receiver = new StubPayloads([]);
        receiver.Hold.Reset();
        var (one, ownOne) = Join(1, new StubPayloads([1, 2, 3]));
        var (two, ownTwo) = Join(2, new StubPayloads([4, 5, 6]));
        var (_, inbox) = Join(3, receiver);
        one.Send([Snapshot(1, 3)]);
        await WaitUntilAsync(() => receiver.Started == 1);
        two.Send([Snapshot(2, 3)]);
        Assert.Equal([(3ul, false)], ownTwo.Snapshots); // refused at once, not queued
        receiver.Hold.Set();
        await WaitUntilAsync(() => !ownOne.Snapshots.IsEmpty);
        Assert.Equal([(3ul, true)], ownOne.Snapshots);
        Assert.Equal(1ul, Assert.Single(inbox.Delivered).From);
    }

    [Fact]
    public void Payloads_on_one_side_only_are_never_delivered()
    {
        var (withPayloads, ownWith) = Join(1, new StubPayloads([1]));
        var (without, ownWithout) = Join(2, null);
        var (_, third) = Join(3, null);
        withPayloads.Send([Snapshot(1, 2)]);
        without.Send([Snapshot(2, 1)]);
        without.Send([Snapshot(2, 3)]); // neither has payloads: delivered at once, data inline, as before
        Assert.Equal([(2ul, false)], ownWith.Snapshots);
        Assert.Equal([(1ul, false), (3ul, true)], ownWithout.Snapshots);
        Assert.Equal("sender's descriptor"u8.ToArray(), Assert.Single(third.Delivered).Snapshot!.Data.ToArray());
    }

    [Fact]
    public async Task A_failed_AcceptPayload_delivers_nothing_and_reports_the_snapshot_undelivered()
    {
        var receiver = new StubPayloads([]) { Failure = new InvalidDataException("corrupt") };
        var (one, own) = Join(1, new StubPayloads([1, 2, 3]));
        var (_, inbox) = Join(2, receiver);
        one.Send([Snapshot(1, 2)]);
        await WaitUntilAsync(() => !own.Snapshots.IsEmpty);
        Assert.Equal([(2ul, false)], own.Snapshots);
        Assert.Empty(inbox.Delivered);
        receiver.Failure = null; // the receiver is free again: the next attempt goes through
        one.Send([Snapshot(1, 2)]);
        await WaitUntilAsync(() => own.Snapshots.Count == 2);
        Assert.Single(inbox.Delivered);
    }

    [Fact]
    public async Task Disposing_the_receiver_cancels_the_payload_it_is_accepting_and_waits_for_it()
    {
        var receiver = new StubPayloads([]);
        receiver.Hold.Reset();
        var (one, own) = Join(1, new StubPayloads([1, 2, 3]));
        var (two, inbox) = Join(2, receiver);
        one.Send([Snapshot(1, 2)]);
        await WaitUntilAsync(() => receiver.Started == 1);
        await two.DisposeAsync().AsTask().WaitAsync(Bound);
        Assert.IsType<OperationCanceledException>(Assert.Single(receiver.Failures), exactMatch: false);
        await WaitUntilAsync(() => !own.Snapshots.IsEmpty);
        Assert.Equal([(2ul, false)], own.Snapshots);
        Assert.Empty(inbox.Delivered);
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

    /// <summary>Sends <paramref name="payload"/>; accepts anything, returning "received N bytes".</summary>
    private sealed class StubPayloads(byte[] payload) : ISnapshotPayloads
    {
        private int _started;
        private int _disposed;

        public ManualResetEventSlim Hold { get; } = new(initialState: true);

        public Exception? Failure { get; set; }

        public int Started => Volatile.Read(ref _started);

        public int StreamsDisposed => Volatile.Read(ref _disposed);

        public ConcurrentQueue<ulong> Opened { get; } = new();

        public ConcurrentQueue<Exception> Failures { get; } = new();

        public Stream OpenPayload(Snapshot snapshot)
        {
            Opened.Enqueue(snapshot.Index);
            return new DisposalCountingStream(payload, () => Interlocked.Increment(ref _disposed));
        }

        public ReadOnlyMemory<byte> AcceptPayload(SnapshotMetadata metadata, Stream payload, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _started);
            try
            {
                Hold.Wait(cancellationToken);
                if (Failure is { } failure) throw failure;
                var length = 0L;
                var buffer = new byte[4096];
                for (int n; (n = payload.Read(buffer)) > 0;) length += n;
                return System.Text.Encoding.UTF8.GetBytes($"received {length} bytes");
            }
            catch (Exception e)
            {
                Failures.Enqueue(e);
                throw;
            }
        }
    }

    private sealed class DisposalCountingStream(byte[] bytes, Action disposed) : MemoryStream(bytes, writable: false)
    {
        protected override void Dispose(bool disposing)
        {
            if (disposing) disposed();
            base.Dispose(disposing);
        }
    }

    private sealed class RecordingInbox : IRaftInbox
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
}
