namespace RaftKv.Server;

/// <summary>
/// Lets a warning that a hostile client or peer can cause at will (a refused handshake, a refused connection) be
/// logged at most once per interval, and counts the occurrences that were not, for the next line to report.
/// Thread-safe, lock-free.
/// </summary>
/// <param name="intervalMs">Least time between two logged lines, in milliseconds.</param>
public sealed class LogThrottle(long intervalMs = 1000)
{
    private long _nextLogTicks;
    private long _suppressed;

    /// <summary>
    /// Whether this occurrence may be logged now; if so, <paramref name="suppressed"/> is how many were not logged
    /// since the last line (else it is 0, and this one is counted for the next line).
    /// </summary>
    public bool TryLog(out long suppressed)
    {
        var now = Environment.TickCount64;
        var next = Interlocked.Read(ref _nextLogTicks);
        if (now < next || Interlocked.CompareExchange(ref _nextLogTicks, now + intervalMs, next) != next)
        {
            Interlocked.Increment(ref _suppressed);
            suppressed = 0;
            return false;
        }
        suppressed = Interlocked.Exchange(ref _suppressed, 0);
        return true;
    }
}
