namespace RaftKv.Raft.Hosting;

/// <summary>What a transport hands inbound traffic to (implemented by <see cref="RaftHost"/>). Thread-safe.</summary>
public interface IRaftInbox
{
    /// <summary>Queues a message from a peer; false when the inbox is full (the message is dropped; Raft retries).</summary>
    bool TryDeliver(Message message);

    /// <summary>A message to <paramref name="peerId"/> could not be delivered (connection down).</summary>
    void ReportUnreachable(ulong peerId);

    /// <summary>A snapshot sent to <paramref name="peerId"/> was (or was not) delivered.</summary>
    void ReportSnapshot(ulong peerId, bool delivered);
}

/// <summary>
/// Carries messages between nodes. Delivery is best effort: messages may be lost, delayed or duplicated, but a
/// transport should keep per-peer order. <see cref="Send"/> must never block the host's loop.
/// </summary>
public interface IRaftTransport : IAsyncDisposable
{
    /// <summary>Starts delivering inbound messages to <paramref name="inbox"/>.</summary>
    void Start(IRaftInbox inbox);

    /// <summary>Queues messages for sending; drops (and reports unreachable) when a peer's queue is full.</summary>
    void Send(IReadOnlyList<Message> messages);
}
