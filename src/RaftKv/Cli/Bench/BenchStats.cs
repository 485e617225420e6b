using System.Collections.Concurrent;
using Grpc.Core;

namespace RaftKv.Cli.Bench;

/// <summary>Counters every client updates concurrently: successes (with their latency), errors by status, late starts, CAS conflicts.</summary>
public sealed class BenchStats
{
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private long _errorCount;
    private long _late;
    private long _maxStartLagUs;
    private long _casConflicts;

    /// <summary>Latencies of the successful requests.</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Successful requests.</summary>
    public long Succeeded => Latency.Count;

    /// <summary>Failed requests.</summary>
    public long Failed => Volatile.Read(ref _errorCount);

    /// <summary>Open loop: requests that could not start at their scheduled time because --clients requests were outstanding.</summary>
    public long Late => Volatile.Read(ref _late);

    /// <summary>Open loop: the longest delay between a request's scheduled and actual start.</summary>
    public long MaxStartLagUs => Volatile.Read(ref _maxStartLagUs);

    /// <summary>txn workload: transactions whose compare failed (another client won) and were retried.</summary>
    public long CasConflicts => Volatile.Read(ref _casConflicts);

    /// <summary>Failed requests by gRPC status code (or exception type when the failure was not an RPC error).</summary>
    public IReadOnlyDictionary<string, long> ErrorsByStatus => new SortedDictionary<string, long>(_errors, StringComparer.Ordinal);

    /// <summary>Records a success that took <paramref name="latencyUs"/>.</summary>
    public void Success(long latencyUs) => Latency.Record(latencyUs);

    /// <summary>Records a failure.</summary>
    public void Failure(Exception error)
    {
        var key = error switch
        {
            RpcException rpc => rpc.StatusCode.ToString(),
            OperationCanceledException => nameof(StatusCode.Cancelled),
            _ => error.GetType().Name,
        };
        _errors.AddOrUpdate(key, 1, (_, n) => n + 1);
        Interlocked.Increment(ref _errorCount);
    }

    /// <summary>Records an open-loop start that waited <paramref name="lagUs"/> for a free client.</summary>
    public void LateStart(long lagUs)
    {
        Interlocked.Increment(ref _late);
        var current = Volatile.Read(ref _maxStartLagUs);
        while (lagUs > current)
        {
            var seen = Interlocked.CompareExchange(ref _maxStartLagUs, lagUs, current);
            if (seen == current) break;
            current = seen;
        }
    }

    /// <summary>Records one failed compare of the txn workload.</summary>
    public void CasConflict() => Interlocked.Increment(ref _casConflicts);
}
