using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;

namespace RaftKv.Server.Concurrency;

/// <summary>
/// clientv3/concurrency's waitDeletes: waits until no contender under a prefix was created before the caller's key,
/// waiting each time for the deletion of the last one before it (so one deletion wakes one waiter, not a herd).
/// </summary>
/// <remarks>
/// Unlike etcd 3.4, the wait also ends when the caller's own key is deleted (its lease expired or was revoked): the
/// caller then owns nothing, and is told so with <see cref="ConcurrencyErrors.SessionExpired"/> instead of being
/// handed a lock it does not hold (newer clientv3 releases check the same after waiting).
/// </remarks>
public sealed class PredecessorWait(NodeContext node, OwnerStore store, ConcurrencyLimits limits)
{
    /// <summary>
    /// Waits until <paramref name="ownKey"/>, created at <paramref name="ownRevision"/>, is the first under
    /// <paramref name="prefix"/>; returns the header of the linearizable read that found it so.
    /// </summary>
    public async Task<ResponseHeader> WaitAsync(ByteString prefix, ByteString ownKey, long ownRevision, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await store.ReadAsync(OwnerRequests.Predecessor(prefix, ownKey, ownRevision), cancellationToken).ConfigureAwait(false);
            if (read.Responses[1].ResponseRange.Count == 0) throw ConcurrencyErrors.SessionExpired();
            var before = read.Responses[0].ResponseRange.Kvs;
            if (before.Count == 0) return read.Header;
            await WaitForDeleteAsync(before[0].Key, ownKey, read.Header.Revision + 1, cancellationToken).ConfigureAwait(false);
        }
    }

    // Returns once either key is deleted, or when the stream must be read again from the store (history compacted):
    // the caller's next read decides either way.
    private async Task WaitForDeleteAsync(ByteString predecessor, ByteString ownKey, long fromRevision, CancellationToken cancellationToken)
    {
        var cursor = new HubCursor(node.Machine.Watches, fromRevision, limits.EventsPerReadMax);
        while (await cursor.NextAsync(cancellationToken).ConfigureAwait(false) is { } events)
        {
            foreach (var e in events)
            {
                if (e.Type == Event.Types.EventType.Delete && (e.Kv.Key == predecessor || e.Kv.Key == ownKey)) return;
            }
        }
    }
}
