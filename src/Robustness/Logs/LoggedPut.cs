namespace RaftKv.Robustness.Logs;

/// <summary>A put found in a member's log: a plain put, or one inside a txn (which may not have run).</summary>
/// <param name="Index">The Raft index of its entry.</param>
/// <param name="Key">The key it writes.</param>
/// <param name="Value">The value it writes.</param>
/// <param name="Committed">Whether the entry is at or below the member's commit index.</param>
/// <param name="InTxn">Whether it is one of a txn's ops (success or failure branch): applying the entry may not have run it.</param>
public sealed record LoggedPut(ulong Index, string Key, string Value, bool Committed, bool InTxn);
