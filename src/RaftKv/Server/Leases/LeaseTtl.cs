namespace RaftKv.Server.Leases;

/// <summary>The shortest TTL a grant gets, as etcd computes it.</summary>
public static class LeaseTtl
{
    /// <summary>
    /// etcd's <c>minLeaseTTL</c>: ceil(1.5 × election timeout) in whole seconds (its
    /// <c>(3 * electionTicks) / 2 * heartbeat</c>), so a lease outlives the election a leader change takes and is
    /// not lost to it. With etcd's defaults (100 ms heartbeat, 1000 ms election) that is 2 s. The proposer raises a
    /// shorter requested TTL (0 and negative included) to it before the grant enters the log, so every member stores
    /// the same TTL whatever its own election timeout.
    /// </summary>
    public static long MinimumSeconds(int heartbeatIntervalMs, int electionTimeoutMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heartbeatIntervalMs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(electionTimeoutMs);
        var electionTicks = electionTimeoutMs / heartbeatIntervalMs;
        var minimumMs = (long)(3 * electionTicks / 2) * heartbeatIntervalMs;
        return Math.Max(1, (minimumMs + 999) / 1000);
    }
}
