using System.Runtime.CompilerServices;

namespace RaftKv.Raft;

/// <summary>
/// Builds the message of <see cref="RaftInvariantException.Assert(bool, ref InvariantMessageHandler)"/> only when
/// the condition is false, so a check that holds formats nothing and allocates nothing (as
/// <c>Debug.Assert</c>'s handler does). Written by the compiler for an interpolated string argument; not for direct use.
/// </summary>
[InterpolatedStringHandler]
public ref struct InvariantMessageHandler
{
    private DefaultInterpolatedStringHandler _builder;

    /// <summary>Starts a message; <paramref name="shouldAppend"/> is false (skip formatting) when <paramref name="condition"/> holds.</summary>
    public InvariantMessageHandler(int literalLength, int formattedCount, bool condition, out bool shouldAppend)
    {
        shouldAppend = !condition;
        _builder = shouldAppend ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    /// <summary>Appends a literal part.</summary>
    public void AppendLiteral(string value) => _builder.AppendLiteral(value);

    /// <summary>Appends a formatted hole.</summary>
    public void AppendFormatted<T>(T value) => _builder.AppendFormatted(value);

    /// <summary>Appends a formatted hole with a format string.</summary>
    public void AppendFormatted<T>(T value, string? format) => _builder.AppendFormatted(value, format);

    /// <summary>Appends a string hole.</summary>
    public void AppendFormatted(string? value) => _builder.AppendFormatted(value);

    internal string ToStringAndClear() => _builder.ToStringAndClear();
}
