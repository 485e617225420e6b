namespace RaftKv.Http.Observe;

/// <summary>Counts events in one-second buckets over the last minute (for writes per second and its sparkline).</summary>
internal sealed class RateCounter(TimeProvider time)
{
    public const int Seconds = 60;

    private readonly long[] _second = new long[Seconds];
    private readonly long[] _count = new long[Seconds];
    private readonly Lock _gate = new();

    private long Now => time.GetUtcNow().ToUnixTimeSeconds();

    public void Add(long n = 1)
    {
        var now = Now;
        lock (_gate)
        {
            var slot = (int)(now % Seconds);
            if (_second[slot] != now)
            {
                _second[slot] = now;
                _count[slot] = 0;
            }
            _count[slot] += n;
        }
    }

    /// <summary>Counts of the last <see cref="Seconds"/> complete seconds, oldest first.</summary>
    public long[] History()
    {
        var now = Now;
        var result = new long[Seconds];
        lock (_gate)
        {
            for (var i = 0; i < Seconds; i++)
            {
                var second = now - Seconds + i;
                var slot = (int)(((second % Seconds) + Seconds) % Seconds);
                result[i] = _second[slot] == second ? _count[slot] : 0;
            }
        }
        return result;
    }

    /// <summary>Average per second over the last <paramref name="window"/> complete seconds.</summary>
    public double PerSecond(int window = 3)
    {
        var history = History();
        window = Math.Clamp(window, 1, Seconds);
        long sum = 0;
        for (var i = Seconds - window; i < Seconds; i++) sum += history[i];
        return (double)sum / window;
    }
}
