namespace RaftKv.Raft;

/// <summary>
/// A message from the wire that <see cref="RaftNode.Step"/> refuses: misaddressed, from an unknown sender, of an
/// undefined type, or with fields that contradict each other or the receiver's log. The message is checked in full
/// before any state is touched, so when this is thrown the node is exactly as it was: the host may log the message,
/// drop it and carry on.
/// </summary>
/// <remarks>
/// This is the only exception <see cref="RaftNode.Step"/> throws for bad input. Anything else it throws
/// (<see cref="RaftInvariantException"/>, <see cref="ArgumentOutOfRangeException"/>, ...) is a bug or a broken
/// cluster, after which the node must be discarded.
/// </remarks>
public sealed class InvalidMessageException : Exception
{
    /// <summary>Creates the exception with a description of what is wrong with the message.</summary>
    public InvalidMessageException(string message) : base(message) { }
}
