namespace RaftKv.Fuzz.Tests.Engine;

/// <summary>An invariant of a fuzz target broke for one input (the message says which).</summary>
public sealed class FuzzFindingException(string message) : Exception(message);
