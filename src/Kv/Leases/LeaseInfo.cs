namespace RaftKv.Kv.Leases;

/// <summary>A granted lease as the store holds it: its id, the TTL it was granted with and its checkpointed remaining TTL (seconds).</summary>
/// <param name="Id">The lease id (never 0).</param>
/// <param name="GrantedTtlSeconds">The TTL stored at grant, after the proposer's minimum; the clock is the leader's.</param>
/// <param name="RemainingTtlSeconds">
/// The remaining TTL last checkpointed through the log (etcd's LeaseCheckpoint), below the granted TTL; 0 when none,
/// so a new leader counts from the full TTL.
/// </param>
public sealed record LeaseInfo(long Id, long GrantedTtlSeconds, long RemainingTtlSeconds = 0)
{
    /// <summary>Where a new leader starts this lease's countdown: the checkpointed remaining TTL, or the full TTL when none (etcd's <c>RemainingTTL()</c>).</summary>
    public long CountdownStartSeconds => RemainingTtlSeconds > 0 ? RemainingTtlSeconds : GrantedTtlSeconds;
}
