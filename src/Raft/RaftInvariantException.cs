using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

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
        if (!condition) Throw(message);
    }

    /// <summary>
    /// Throws when <paramref name="condition"/> is false. Always on, in every build. An interpolated message is
    /// formatted only then, so checks on hot paths cost nothing while they hold.
    /// </summary>
    public static void Assert(bool condition, [InterpolatedStringHandlerArgument(nameof(condition))] ref InvariantMessageHandler message)
    {
        if (!condition) Throw(message.ToStringAndClear());
    }

    [DoesNotReturn]
    private static void Throw(string message) => throw new RaftInvariantException(message);
}
