namespace RaftKv.Raft;

/// <summary>
/// A broken invariant: a bug in the core or a contract the host broke (for example storage returning entries that
/// are not contiguous). Never an expected condition; the node must stop rather than continue with corrupt state.
/// </summary>
public sealed class RaftInvariantException : Exception
{
    /// <summary>Creates the exception with a description of what did not hold.</summary>
    public RaftInvariantException(string message) : base(message) { }

    /// <summary>Throws when <paramref name="condition"/> is false. Always on, in every build.</summary>
    public static void Assert(bool condition, string message)
    {
        if (!condition) throw new RaftInvariantException(message);
    }
}
