using System.Collections.Concurrent;

namespace RaftKv.Raft.Hosting.InMemory;

public sealed partial class InMemoryNetwork
{
    /// <summary>One node's end of the network.</summary>
    private sealed partial class Transport(InMemoryNetwork network, ulong id, ISnapshotPayloads? payloads) : IRaftTransport
    {
        // Set by Start, cleared by DisposeAsync; null means this node is not on the network.
        private volatile IRaftInbox? _inbox;
        private int _started;
        // Cancelled by DisposeAsync: ends the payload copies this node sends or accepts.
        private readonly CancellationTokenSource _stop = new();
        // Held by the one payload this node is accepting; taken for good by DisposeAsync, so none starts after it.
        private readonly SemaphoreSlim _acceptGate = new(1, 1);
        // Payload copies this node sends or accepts that have not ended yet. The value is unused.
        private readonly ConcurrentDictionary<Task, byte> _copies = new();

        public IRaftInbox? Inbox => _inbox;

        public ISnapshotPayloads? Payloads => payloads;

        public void Start(IRaftInbox inbox)
        {
            ArgumentNullException.ThrowIfNull(inbox);
            if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("the transport was already started");
            if (!network._nodes.TryAdd(id, this)) throw new InvalidOperationException($"node {id} is already on the network");
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
                if (m.Type == MessageType.Snapshot)
                {
                    SendSnapshot(own, m, lost);
                    continue;
                }
                var delivered = !lost && network._nodes.TryGetValue(m.To, out var target) && target.Inbox?.TryDeliver(m) == true;
                if (!lost && !delivered && lastUnreachable != m.To)
                {
                    // Unknown, stopped or full: what a real transport reports as unreachable. Once per peer per batch.
                    own.ReportUnreachable(m.To);
                    lastUnreachable = m.To;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            // Remove only our own registration, never another transport's for the same id.
            network._nodes.TryRemove(new KeyValuePair<ulong, Transport>(id, this));
            _inbox = null;
            if (Interlocked.Exchange(ref _started, 2) == 2) return;
            await _stop.CancelAsync().ConfigureAwait(false);
            await _acceptGate.WaitAsync().ConfigureAwait(false); // never released: no payload is accepted after this
            await Task.WhenAll(_copies.Keys).ConfigureAwait(false);
        }
    }
}
