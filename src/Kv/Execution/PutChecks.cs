using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Execution;

/// <summary>What a put needs from the state before it may run.</summary>
internal static class PutChecks
{
    public static KvError? Check(IMvccView state, PutRequest request)
    {
        if ((request.IgnoreValue || request.IgnoreLease) && !IsLive(state, request.Key.Span))
        {
            // ignore_value / ignore_lease keep the current value / lease, so there must be one.
            return KvError.KeyNotFound;
        }

        if (request.Lease != 0 && !state.Leases.TryGetTtl(request.Lease, out _))
        {
            return KvError.LeaseNotFound;
        }

        return null;
    }

    /// <summary>Whether the key exists now (writes of the transaction in progress included).</summary>
    public static bool IsLive(IMvccView state, ReadOnlySpan<byte> key) =>
        state.TryGetVersion(key, long.MaxValue, out var newest) && !newest.IsTombstone;
}
