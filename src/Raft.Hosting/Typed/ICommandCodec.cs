using System.Buffers;

namespace RaftKv.Raft.Hosting;

/// <summary>
/// Turns a command into the bytes a log entry carries, and back. Used by <see cref="TypedRaftHost{TCommand, TResult}"/>:
/// the proposer encodes, and every node decodes the committed bytes before it applies them.
/// </summary>
/// <remarks>
/// <para>Deterministic: <see cref="Encode"/> writes the same bytes for equal commands, and <see cref="Decode"/> is a
/// pure function of its input (no clocks, no culture, no machine byte order, no process-local state), so every node
/// decodes the same command from the same entry. Fix byte order and text encoding explicitly.</para>
/// <para>Total on its own output: <see cref="Decode"/> must return a command for every byte sequence
/// <see cref="Encode"/> wrote, including those written by older versions of the codec still in the log or in
/// snapshots. <see cref="Encode"/> must write at least one byte: an empty entry is a new leader's no-op.</para>
/// <para>On bytes it did not write (a codec bug, a newer version's format, raw bytes proposed through
/// <see cref="TypedRaftHost{TCommand, TResult}.Host"/>), <see cref="Decode"/> may throw any exception. Because it is
/// pure, it throws on every node alike, and the host handles it the same everywhere: the entry is applied as nothing
/// (<see cref="IStateMachine{TCommand, TResult}.ApplyNoOp"/>), the node goes on, and the proposer gets
/// <see cref="UndecodableCommandException"/>.</para>
/// <para>Thread-safety: <see cref="Encode"/> runs on the proposer's thread, possibly several at once;
/// <see cref="Decode"/> runs on the host's loop thread. A stateless codec is safe for both.</para>
/// </remarks>
/// <typeparam name="T">The command type.</typeparam>
public interface ICommandCodec<T>
{
    /// <summary>Writes <paramref name="value"/> to <paramref name="destination"/> (at least one byte).</summary>
    void Encode(T value, IBufferWriter<byte> destination);

    /// <summary>Reads a command from exactly the bytes <see cref="Encode"/> wrote; may throw on any other bytes.</summary>
    T Decode(ReadOnlySpan<byte> source);
}
