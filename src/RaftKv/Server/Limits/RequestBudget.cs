namespace RaftKv.Server.Limits;

/// <summary>
/// A connection's request budget, set on the connection's features by <see cref="ConnectionGate"/> and spent by
/// <see cref="RequestRateMiddleware"/> on each request the connection carries (HTTP/2 streams share it).
/// </summary>
/// <param name="bucket">Requests per second and burst.</param>
/// <param name="gate">The gate that admitted the connection, which counts refusals over all connections.</param>
public sealed class RequestBudget(TokenBucket bucket, ConnectionGate gate)
{
    private long _refused;

    /// <summary>Requests refused on this connection so far.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Spends one request; false, counted, when the connection is over its rate.</summary>
    public bool TrySpend()
    {
        if (bucket.TryTake()) return true;
        Interlocked.Increment(ref _refused);
        gate.CountRefusedRequest();
        return false;
    }
}
