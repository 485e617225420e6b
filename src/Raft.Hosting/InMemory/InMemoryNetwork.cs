using System.Collections.Concurrent;

namespace RaftKv.Raft.Hosting.InMemory;

/// <summary>
/// A network of <see cref="RaftHost"/>s in one process, for tests and single-process clusters. Each node gets its
/// transport from <see cref="TransportFor"/>; links can be cut one way or both ways, healed, and single messages
/// dropped, to test an application under partitions and message loss.
/// </summary>
/// <remarks>
/// <para>Delivery is asynchronous, as on a real network: sending only queues a message in the receiver's
/// <see cref="IRaftInbox"/>; the receiver handles it later on its own loop. Per-link order is kept.</para>
/// <para>Messages are lost when the link is cut, when <see cref="Drop"/> says so, when the receiver is unknown or
/// stopped (its transport was never started or was disposed), or when its inbox is full. Raft retries, so loss is
/// safe. A snapshot is the exception, as with a real transport: its outcome is always reported to the
/// sender through <see cref="IRaftInbox.ReportSnapshot"/>, delivered or not, so the leader never waits for one
/// forever. Any other message that reaches no inbox (unknown or stopped node, full inbox) is also reported through
/// <see cref="IRaftInbox.ReportUnreachable"/>, as a refused connection or a full send queue would be; cut links and
/// <see cref="Drop"/> lose messages without a report, like packets lost on the wire.</para>
/// <para>Thread-safe: every member may be called from any thread while the hosts run.</para>
/// </remarks>
public sealed class InMemoryNetwork
{
    // Node id -> the inbox of its started, not yet disposed transport.
    private readonly ConcurrentDictionary<ulong, IRaftInbox> _inboxes = new();
    // Directed links (from, to) that lose every message. The value is unused.
    private readonly ConcurrentDictionary<(ulong From, ulong To), byte> _cutLinks = new();
    private volatile Func<Message, bool>? _drop;

    /// <summary>
    /// A transport for node <paramref name="id"/> (not 0, which Raft reserves for "none"). It joins the network when
    /// the host starts it and leaves when the host disposes it; a stopped node may then rejoin with a new transport.
    /// Starting a second transport for an id that is on the network throws <see cref="InvalidOperationException"/>.
    /// </summary>
    public IRaftTransport TransportFor(ulong id)
    {
        ArgumentOutOfRangeException.ThrowIfZero(id);
        return new Transport(this, id);
    }

    /// <summary>Cuts both directions of every link between <paramref name="id"/> and the nodes in <paramref name="all"/>.</summary>
    public void Isolate(ulong id, IEnumerable<ulong> all)
    {
        ArgumentNullException.ThrowIfNull(all);
        foreach (var other in all)
        {
            if (other == id) continue;
            Cut(id, other);
            Cut(other, id);
        }
    }

    /// <summary>Cuts one direction of one link: messages from <paramref name="from"/> to <paramref name="to"/> are lost.</summary>
    public void Cut(ulong from, ulong to) => _cutLinks[(from, to)] = 0;

    /// <summary>Restores every cut link. Does not clear <see cref="Drop"/>.</summary>
    public void Heal() => _cutLinks.Clear();

    /// <summary>
    /// When set, every message it returns true for is lost (after the cut links are checked). Called on the sender's
    /// loop thread for each message, possibly from several threads at once: keep it quick and thread-safe. Set null
    /// to stop dropping.
    /// </summary>
    public Func<Message, bool>? Drop
    {
        get => _drop;
        set => _drop = value;
    }

    private bool Loses(Message message) =>
        _cutLinks.ContainsKey((message.From, message.To)) || _drop?.Invoke(message) == true;

    private sealed class Transport(InMemoryNetwork network, ulong id) : IRaftTransport
    {
        // Set by Start, cleared by DisposeAsync; null means this node is not on the network.
        private volatile IRaftInbox? _inbox;
        private int _started;

        public void Start(IRaftInbox inbox)
        {
            ArgumentNullException.ThrowIfNull(inbox);
            if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("the transport was already started");
            if (!network._inboxes.TryAdd(id, inbox)) throw new InvalidOperationException($"node {id} is already on the network");
            _inbox = inbox;
        }

        public void Send(IReadOnlyList<Message> messages)
        {
            ArgumentNullException.ThrowIfNull(messages);
            // A host may still flush a last batch while it stops: a stopped node sends nothing.
            if (_inbox is not { } own) return;
            ulong lastUnreachable = 0;
            foreach (var m in messages)
            {
                var lost = network.Loses(m);
                var delivered = !lost && network._inboxes.TryGetValue(m.To, out var target) && target.TryDeliver(m);
                if (m.Type == MessageType.Snapshot)
                {
                    own.ReportSnapshot(m.To, delivered);
                }
                else if (!lost && !delivered && lastUnreachable != m.To)
                {
                    // Unknown, stopped or full: what a real transport reports as unreachable. Once per peer per batch.
                    own.ReportUnreachable(m.To);
                    lastUnreachable = m.To;
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            // Remove only our own registration, never another transport's for the same id.
            if (_inbox is { } inbox) network._inboxes.TryRemove(new KeyValuePair<ulong, IRaftInbox>(id, inbox));
            _inbox = null;
            return ValueTask.CompletedTask;
        }
    }
}
