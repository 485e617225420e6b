namespace RaftKv.Robustness.Reporting;

/// <summary>A fault injected during a run: what, on which member, from when to when (the history's clock).</summary>
/// <param name="Kind">For example "kill -9" or "SIGSTOP".</param>
/// <param name="Target">The member it hit.</param>
/// <param name="Start">When it began.</param>
/// <param name="End">When it was undone (restart, SIGCONT).</param>
public sealed record FaultWindow(string Kind, string Target, long Start, long End);
