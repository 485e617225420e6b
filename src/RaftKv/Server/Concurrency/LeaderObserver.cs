using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Etcd.Api.V3Electionpb;

namespace RaftKv.Server.Concurrency;

/// <summary>
/// clientv3/concurrency's Election.Observe, served from this member's change stream: the current leader's key and
/// value, then every new value it proclaims, and when its key is deleted the next leader (or, with none, the first
/// candidate that appears). One response is written at a time and awaited, so a slow client holds back only itself.
/// </summary>
public sealed class LeaderObserver(NodeContext node, OwnerStore store, ConcurrencyLimits limits)
{
    /// <summary>Streams leader changes of <paramref name="name"/> until the client goes away or a read fails.</summary>
    public async Task RunAsync(ByteString name, IServerStreamWriter<LeaderResponse> responses, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(responses);
        var prefix = OwnerKeys.Prefix(name);
        KeyValue? sent = null;
        while (true)
        {
            var first = await store.RangeAsync(OwnerRequests.First(prefix), cancellationToken).ConfigureAwait(false);
            var leader = first.Kvs.Count > 0
                ? (first.Header, first.Kvs[0])
                : await FirstPutAsync(prefix, first.Header.Revision + 1, cancellationToken).ConfigureAwait(false);
            if (leader is not { } found) continue; // the stream broke (compaction, snapshot): read again
            var (header, kv) = found;
            // After a broken stream the same leader is read again: it was sent already.
            if (sent is null || sent.Key != kv.Key || sent.ModRevision != kv.ModRevision)
                await responses.WriteAsync(new LeaderResponse { Header = header, Kv = kv }, cancellationToken).ConfigureAwait(false);
            sent = kv;
            // A key and mod revision identify a value for good (a key created again has a new mod revision).
            sent = await FollowAsync(kv.Key, header.Revision + 1, responses, cancellationToken).ConfigureAwait(false) ?? sent;
        }
    }

    // No leader yet: the first put under the prefix is the leader (as etcd's observe takes it), its header at the
    // put's revision. Null when the change stream broke.
    private async Task<(ResponseHeader, KeyValue)?> FirstPutAsync(ByteString prefix, long fromRevision, CancellationToken cancellationToken)
    {
        var cursor = new HubCursor(node.Machine.Watches, fromRevision, limits.EventsPerReadMax);
        while (await cursor.NextAsync(cancellationToken).ConfigureAwait(false) is { } events)
        {
            foreach (var e in events)
            {
                if (e.Type == Event.Types.EventType.Put && OwnerKeys.IsUnder(e.Kv.Key, prefix))
                    return (node.Header(new ResponseHeader { Revision = e.Kv.ModRevision }), e.Kv);
            }
        }
        return null;
    }

    // Sends each new value of the leader's key until it is deleted (or the stream breaks); then the caller looks for
    // the next leader. Returns the last value sent, if any.
    private async Task<KeyValue?> FollowAsync(ByteString key, long fromRevision, IServerStreamWriter<LeaderResponse> responses, CancellationToken cancellationToken)
    {
        KeyValue? sent = null;
        var cursor = new HubCursor(node.Machine.Watches, fromRevision, limits.EventsPerReadMax);
        while (await cursor.NextAsync(cancellationToken).ConfigureAwait(false) is { } events)
        {
            foreach (var e in events)
            {
                if (e.Kv.Key != key) continue;
                if (e.Type == Event.Types.EventType.Delete) return sent;
                var header = node.Header(new ResponseHeader { Revision = cursor.NextRevision - 1 });
                await responses.WriteAsync(new LeaderResponse { Header = header, Kv = e.Kv }, cancellationToken).ConfigureAwait(false);
                sent = e.Kv;
            }
        }
        return sent;
    }
}
