namespace RaftKv.Kv.Leases;

/// <summary>A granted lease as the store holds it: its id and the TTL it was granted with (seconds).</summary>
/// <param name="Id">The lease id (never 0).</param>
/// <param name="GrantedTtlSeconds">The TTL stored at grant, after the proposer's minimum; the clock is the leader's.</param>
public sealed record LeaseInfo(long Id, long GrantedTtlSeconds);
