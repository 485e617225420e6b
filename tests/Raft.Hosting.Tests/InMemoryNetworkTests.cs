using System.Collections.Concurrent;
using RaftKv.Raft.Hosting.InMemory;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>The in-memory network's contract, checked with recording inboxes (no hosts, no timers).</summary>
public sealed class InMemoryNetworkTests
{
    private readonly InMemoryNetwork _network = new();

    private static Message Heartbeat(ulong from, ulong to) => new() { Type = MessageType.Heartbeat, From = from, To = to };

    private static Message Snapshot(ulong from, ulong to) => new() { Type = MessageType.Snapshot, From = from, To = to };

    private (IRaftTransport Transport, RecordingInbox Inbox) Join(ulong id)
    {
        var transport = _network.TransportFor(id);
        var inbox = new RecordingInbox();
        transport.Start(inbox);
        return (transport, inbox);
    }

    [Fact]
    public void Messages_reach_the_receivers_inbox_in_order()
    {
        var (one, _) = Join(1);
        var (_, two) = Join(2);
        one.Send([Heartbeat(1, 2), Snapshot(1, 2), Heartbeat(1, 2)]);
        Assert.Equal([MessageType.Heartbeat, MessageType.Snapshot, MessageType.Heartbeat], two.Delivered.Select(m => m.Type));
    }

    [Fact]
    public void A_snapshot_is_always_reported_to_the_sender_delivered_or_not()
    {
        var (one, own) = Join(1);
        Join(2);
        one.Send([Snapshot(1, 2)]);
        _network.Cut(1, 2);
        one.Send([Snapshot(1, 2)]);
        _network.Heal();
        one.Send([Snapshot(1, 3)]); // node 3 is not on the network
        Assert.Equal([(2ul, true), (2ul, false), (3ul, false)], own.Snapshots);
    }

    [Fact]
    public async Task A_stopped_node_gets_nothing_and_the_sender_hears_it_is_unreachable()
    {
        var (one, own) = Join(1);
        var (two, inbox) = Join(2);
        await two.DisposeAsync();
        one.Send([Heartbeat(1, 2), Heartbeat(1, 2)]);
        Assert.Empty(inbox.Delivered);
        Assert.Equal([2ul], own.Unreachable); // once per peer per batch
        var (_, restarted) = Join(2); // a stopped node may rejoin with a new transport
        one.Send([Heartbeat(1, 2)]);
        Assert.Single(restarted.Delivered);
    }

    [Fact]
    public void Cut_links_and_Drop_lose_messages_without_a_report()
    {
        var (one, own) = Join(1);
        var (two, inboxTwo) = Join(2);
        var (_, inboxThree) = Join(3);
        _network.Cut(1, 2);
        _network.Drop = m => m.To == 3;
        one.Send([Heartbeat(1, 2), Heartbeat(1, 3)]);
        two.Send([Heartbeat(2, 1)]); // the cut is one way
        Assert.Empty(inboxTwo.Delivered);
        Assert.Empty(inboxThree.Delivered);
        Assert.Empty(own.Unreachable);
        Assert.Single(own.Delivered);
        _network.Isolate(1, [1, 2, 3]);
        two.Send([Heartbeat(2, 1)]);
        Assert.Single(own.Delivered);
    }

    [Fact]
    public void Two_live_transports_for_one_id_are_refused()
    {
        Join(1);
        Assert.Throws<InvalidOperationException>(() => Join(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _network.TransportFor(0));
    }

    private sealed class RecordingInbox : IRaftInbox
    {
        public ConcurrentQueue<Message> Delivered { get; } = new();
        public ConcurrentQueue<ulong> Unreachable { get; } = new();
        public ConcurrentQueue<(ulong Peer, bool Delivered)> Snapshots { get; } = new();

        public bool TryDeliver(Message message)
        {
            Delivered.Enqueue(message);
            return true;
        }

        public void ReportUnreachable(ulong peerId) => Unreachable.Enqueue(peerId);

        public void ReportSnapshot(ulong peerId, bool delivered) => Snapshots.Enqueue((peerId, delivered));
    }
}
