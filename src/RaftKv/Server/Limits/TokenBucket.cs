namespace RaftKv.Server.Limits;

/// <summary>
/// A token bucket: <see cref="RatePerSecond"/> tokens a second, up to <see cref="Burst"/> saved; each admitted event
/// takes one. Thread-safe (a short lock: one bucket per connection, or one per listener for new connections).
/// </summary>
public sealed class TokenBucket
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private double _tokens;
    private long _refilledAt;

    /// <param name="ratePerSecond">Tokens added per second; above 0.</param>
    /// <param name="burst">Most tokens held, and the number held at the start; at least 1.</param>
    /// <param name="time">The clock.</param>
    public TokenBucket(double ratePerSecond, double burst, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentNullException.ThrowIfNull(time);
        RatePerSecond = ratePerSecond;
        Burst = burst;
        _time = time;
        _tokens = burst;
        _refilledAt = time.GetTimestamp();
    }

    /// <summary>Tokens added per second.</summary>
    public double RatePerSecond { get; }

    /// <summary>Most tokens held.</summary>
    public double Burst { get; }

    /// <summary>Takes a token if one is there; false (nothing taken) when the bucket is empty.</summary>
    public bool TryTake()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var elapsedSeconds = _time.GetElapsedTime(_refilledAt, now).TotalSeconds;
            if (elapsedSeconds > 0)
            {
                _tokens = Math.Min(Burst, _tokens + elapsedSeconds * RatePerSecond);
                _refilledAt = now;
            }
            if (_tokens < 1) return false;
            _tokens -= 1;
            return true;
        }
    }
}
