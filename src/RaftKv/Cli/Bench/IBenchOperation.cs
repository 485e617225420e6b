using Grpc.Core;

namespace RaftKv.Cli.Bench;

/// <summary>One unit of a workload (the thing whose latency is measured); throws on failure.</summary>
public interface IBenchOperation
{
    /// <summary>Runs request number <paramref name="sequence"/> for <paramref name="client"/>; <paramref name="options"/> carries deadline and cancellation.</summary>
    Task ExecuteAsync(BenchClient client, long sequence, CallOptions options);
}
