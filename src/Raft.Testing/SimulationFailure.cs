namespace RaftKv.Raft.Testing;

/// <summary>A safety or liveness check failed; the message carries the seed and the recent trace for replay.</summary>
public sealed class SimulationFailure(string message) : Exception(message);
