namespace RaftKv.Raft.Hosting;

/// <summary>
/// An optional capability of a state machine whose state is too large to travel inside a <see cref="Snapshot"/>:
/// the snapshot's <see cref="Snapshot.Data"/> is only a small descriptor, and the state itself travels beside the
/// Raft message as a stream (a payload), as etcd streams its database file beside its snapshot message. A transport
/// given an implementation (<c>TransportOptions.SnapshotPayloads</c> of the gRPC transport,
/// <see cref="InMemory.InMemoryNetwork.TransportFor"/> of the in-memory network) sends
/// <see cref="OpenPayload"/>'s stream to the follower, which stages it with <see cref="AcceptPayload"/>
/// <em>before</em> the message reaches its Raft node; the message is then delivered with the descriptor
/// <see cref="AcceptPayload"/> returned as its data, so the follower's <see cref="IStateMachine.Restore"/> gets that
/// descriptor.
/// </summary>
/// <remarks>
/// <para>Every member of a cluster must use payloads or none must: a transport refuses a snapshot whose sender and
/// receiver disagree (the receiver's <see cref="IStateMachine.Restore"/> could not read what arrives).</para>
/// <para>Threads: both methods run on transport threads, concurrently with <see cref="IStateMachine.Apply"/>,
/// <see cref="IStateMachine.Restore"/> and each other, never on the host's loop. A transport makes at most one
/// <see cref="AcceptPayload"/> call at a time per member (a second concurrent transfer is refused, not queued); it
/// may open several payloads at once (one per follower being caught up).</para>
/// <para>Descriptors: <see cref="IStateMachine.CaptureSnapshot"/> writes the descriptor of the local state (it is
/// the <see cref="Snapshot.Data"/> stored and sent); <see cref="AcceptPayload"/> returns the descriptor of a staged
/// payload. <see cref="IStateMachine.Restore"/> must accept both: at startup it gets the stored snapshot's data,
/// which is either. Both should stay small (bytes to kilobytes): Raft storage keeps them and the transport carries
/// them in one message.</para>
/// <para>Staged payloads that are never restored (Raft refused the message as stale, the receiver's inbox was full,
/// the node crashed before persisting the snapshot) are the state machine's to clean up, e.g. at the next
/// <see cref="AcceptPayload"/> or at startup, keeping the one its stored snapshot's descriptor names.</para>
/// <para>After a restore the state may be ahead of the snapshot's index: see <see cref="IStateMachine.Restore"/>.</para>
/// </remarks>
public interface ISnapshotPayloads
{
    /// <summary>
    /// Sender side: opens a stream of a consistent copy of the state at some applied index at or after
    /// <paramref name="snapshot"/>'s <see cref="Snapshot.Index"/>, produced from the live state (not from the
    /// snapshot's data, which is the small descriptor <see cref="IStateMachine.CaptureSnapshot"/> wrote). The copy
    /// must not change while it is read, whatever is applied meanwhile.
    /// </summary>
    /// <param name="snapshot">The snapshot Raft is sending; its index is the least the payload may cover.</param>
    /// <returns>
    /// A readable stream. The transport reads it once, sequentially, to its end or until the send fails, then
    /// disposes it (also on failure); dispose releases whatever the copy held (a database read transaction, a file).
    /// </returns>
    /// <remarks>Called on a transport thread, concurrently with <see cref="IStateMachine.Apply"/>. An exception
    /// fails this transfer only (Raft is told the snapshot was not delivered and tries again later).</remarks>
    Stream OpenPayload(Snapshot snapshot);

    /// <summary>
    /// Receiver side: reads to its end a payload that another member's <see cref="OpenPayload"/> produced, checks
    /// it, and stages it durably, so that <see cref="IStateMachine.Restore"/> can switch to it, even after a restart;
    /// returns the (small) descriptor that becomes the delivered snapshot's <see cref="Snapshot.Data"/> and so the
    /// argument of <see cref="IStateMachine.Restore"/>.
    /// </summary>
    /// <param name="metadata">What the snapshot covers (index, term, membership), as the leader sent it.</param>
    /// <param name="payload">
    /// The payload. The transport has checked it in transit: a read throws <see cref="InvalidDataException"/>
    /// when a piece arrived corrupt or the transfer ended early, and <see cref="OperationCanceledException"/> or
    /// <see cref="IOException"/> when it was cancelled or broke. Let those propagate; the end of the stream (a read
    /// returning 0) comes only after the whole payload arrived intact. Do not dispose it.
    /// </param>
    /// <param name="cancellationToken">Cancelled when the transfer is abandoned (the sender went away, the member stops).</param>
    /// <returns>The descriptor of the staged payload.</returns>
    /// <exception cref="InvalidDataException">The payload is corrupt or truncated; nothing was staged.</exception>
    /// <exception cref="OperationCanceledException">The transfer was cancelled; nothing was staged.</exception>
    /// <remarks>Called on a transport thread, concurrently with <see cref="IStateMachine.Apply"/>, at most one call
    /// at a time per member. Must read <paramref name="payload"/> to its end before returning (a transport refuses
    /// the snapshot otherwise). Any other exception (a full disk) also refuses the snapshot.</remarks>
    ReadOnlyMemory<byte> AcceptPayload(SnapshotMetadata metadata, Stream payload, CancellationToken cancellationToken);
}
