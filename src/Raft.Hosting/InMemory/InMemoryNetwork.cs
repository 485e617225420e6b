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
/// <para>Snapshots with payloads (both nodes registered an <see cref="ISnapshotPayloads"/>): the sender's
/// <see cref="ISnapshotPayloads.OpenPayload"/> stream is read by the receiver's
/// <see cref="ISnapshotPayloads.AcceptPayload"/> on a background task, and the message is delivered afterwards with
/// the receiver's descriptor as its data, so later messages on the link may overtake it (as they overtake a snapshot
/// on a real transport's separate snapshot stream). A receiver accepts one payload at a time: a snapshot that finds
/// it busy is not delivered. A failed payload (an exception from either side) is not delivered. A snapshot between
/// a node with payloads and one without is never delivered: they cannot read each other's snapshots. Disposing
/// either node's transport cancels the copy and waits for it to end.</para>
/// <para>Thread-safe: every member may be called from any thread while the hosts run.</para>
/// </remarks>
public sealed partial class InMemoryNetwork
{
    // Node id -> its started, not yet disposed transport.
    private readonly ConcurrentDictionary<ulong, Transport> _nodes = new();
    // Directed links (from, to) that lose every message. The value is unused.
    private readonly ConcurrentDictionary<(ulong From, ulong To), byte> _cutLinks = new();
    private volatile Func<Message, bool>? _drop;

    /// <summary>
    /// A transport for node <paramref name="id"/> (not 0, which Raft reserves for "none"). It joins the network when
    /// the host starts it and leaves when the host disposes it; a stopped node may then rejoin with a new transport.
    /// Starting a second transport for an id that is on the network throws <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <param name="id">The node's id.</param>
    /// <param name="payloads">
    /// The node's state machine, when its snapshots carry only a descriptor and the state travels as a payload
    /// (see <see cref="ISnapshotPayloads"/>); null for snapshots whose data is the whole state.
    /// </param>
    public IRaftTransport TransportFor(ulong id, ISnapshotPayloads? payloads = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(id);
        return new Transport(this, id, payloads);
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
}
