namespace RaftKv.Raft.Hosting;

/// <summary>
/// A point-in-time view of the state machine returned by <see cref="IStateMachine.CaptureSnapshot"/>. It must not
/// change when the state machine applies further entries or restores another snapshot.
/// </summary>
public interface IStateMachineSnapshot
{
    /// <summary>A guess of the serialized size in bytes, to size the buffer (0 when unknown).</summary>
    long SizeHintBytes { get; }

    /// <summary>
    /// Writes the captured state in the form <see cref="IStateMachine.Restore"/> reads. Called at most once, on a
    /// thread-pool thread, concurrently with <see cref="IStateMachine.Apply"/>.
    /// </summary>
    void WriteTo(Stream destination);
}
