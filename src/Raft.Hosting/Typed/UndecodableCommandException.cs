namespace RaftKv.Raft.Hosting;

/// <summary>
/// The proposed command was committed at <see cref="Index"/>, but the command codec could not decode its bytes, so
/// every node applied it as nothing (<see cref="IStateMachine{TCommand, TResult}.ApplyNoOp"/>) and went on. Proposing
/// it again fails again: the codec's <c>Decode</c> is not total on what its <c>Encode</c> wrote.
/// </summary>
public sealed class UndecodableCommandException(ulong index, string reason)
    : RaftHostException($"the command committed at index {index} could not be decoded and was applied as nothing: {reason}")
{
    /// <summary>The log index of the entry.</summary>
    public ulong Index { get; } = index;
}
