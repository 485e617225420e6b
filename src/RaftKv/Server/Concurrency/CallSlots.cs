using Grpc.Core;

namespace RaftKv.Server.Concurrency;

/// <summary>A bounded count of calls in progress: one slot per call, given back when the call ends.</summary>
/// <remarks>Thread-safe.</remarks>
public sealed class CallSlots(int max, string what)
{
    private long _taken;

    /// <summary>Slots in use now.</summary>
    public long InUse => Interlocked.Read(ref _taken);

    /// <summary>The most slots in use at once.</summary>
    public int Max { get; } = max > 0 ? max : throw new ArgumentOutOfRangeException(nameof(max));

    /// <summary>Takes a slot, given back by disposing the result; RESOURCE_EXHAUSTED when all are in use.</summary>
    public Slot Take()
    {
        if (Interlocked.Increment(ref _taken) <= Max) return new Slot(this);
        Interlocked.Decrement(ref _taken);
        throw new RpcException(new Status(StatusCode.ResourceExhausted, $"raftkv: too many {what} (at most {Max} per member)"));
    }

    /// <summary>One slot taken; disposing it gives it back (once).</summary>
    public struct Slot(CallSlots owner) : IDisposable
    {
        private CallSlots? _owner = owner;

        /// <inheritdoc />
        public void Dispose()
        {
            if (_owner is null) return;
            Interlocked.Decrement(ref _owner._taken);
            _owner = null;
        }
    }
}
