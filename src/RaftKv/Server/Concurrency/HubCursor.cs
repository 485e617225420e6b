using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv;
using RaftKv.Server.Watch;

namespace RaftKv.Server.Concurrency;

/// <summary>
/// A position in this member's change stream (<see cref="WatchHub"/>), read forward one page at a time: what a
/// clientv3 watch gives the concurrency recipes, without a watch stream. Waiting is on the hub's signal, never a
/// sleep, and a cancelled token ends it at once.
/// </summary>
/// <remarks>Not thread-safe: one reader.</remarks>
public sealed class HubCursor(WatchHub hub, long fromRevision, int eventsPerReadMax)
{
    /// <summary>The next revision to read.</summary>
    public long NextRevision { get; private set; } = fromRevision;

    /// <summary>
    /// The next events (whole revisions, at least one event), waiting for them if none are there yet; null when the
    /// history from <see cref="NextRevision"/> was compacted or the store was replaced under the cursor, so the
    /// caller must read the state again instead of trusting the stream.
    /// </summary>
    public async Task<IReadOnlyList<Event>?> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var signal = hub.WhenAfter(NextRevision - 1);
            KvEventPage page;
            try
            {
                page = hub.Read(NextRevision, eventsPerReadMax);
            }
            catch (KvException e) when (e.Error.Equals(KvError.Compacted))
            {
                return null;
            }
            if (page.Events.Count > 0)
            {
                NextRevision = page.NextRevision;
                return page.Events;
            }
            // Nothing to read although the hub says there is: the store changed under us (a snapshot), so the
            // stream cannot be trusted; without this check the loop would spin.
            if (signal.IsCompleted) return null;
            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
