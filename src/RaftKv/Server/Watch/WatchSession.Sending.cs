using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv;

namespace RaftKv.Server.Watch;

/// <summary>Moving each watcher forward through the history, and the timed notifications.</summary>
internal sealed partial class WatchSession
{
    /// <summary>
    /// One round: every watcher behind <paramref name="current"/> gets its next page of events (whole revisions).
    /// Returns whether any watcher moved, so the loop goes round again before it waits.
    /// </summary>
    private async Task<bool> AdvanceAsync(long current, CancellationToken cancellationToken)
    {
        var moved = false;
        List<long>? compacted = null;
        // Watchers at the same position (the usual case: all caught up) share one read of the page, and the round's
        // responses are written buffered and flushed together (at least every FlushBytesMin), not one flush each.
        _roundPages.Clear();
        _responses.WriteOptions = BufferedWrite;
        try
        {
            foreach (var watcher in _watchers.Values)
            {
                if (watcher.NextRevision > current) continue;
                if (!_roundPages.TryGetValue(watcher.NextRevision, out var read))
                {
                    try
                    {
                        var fresh = _hub.Read(watcher.NextRevision, ResponseEventsMax, ResponseBytesMax);
                        read = (fresh, new Event?[fresh.Events.Count]);
                    }
                    catch (KvException e) when (e.Error == KvError.Compacted)
                    {
                        read = (null, []);
                    }
                    _roundPages[watcher.NextRevision] = read;
                }
                var (page, withoutPrevKv) = read;
                if (page is null)
                {
                    (compacted ??= []).Add(watcher.Id);
                    continue;
                }
                if (page.NextRevision == watcher.NextRevision) continue;
                moved = true;
                _selected.Clear();
                watcher.Select(page.Events, withoutPrevKv, _selected);
                watcher.NextRevision = page.NextRevision;
                if (_selected.Count == 0) continue;
                watcher.SentSinceProgress = true;
                await SendEventsAsync(watcher, page.NextRevision - 1, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _responses.WriteOptions = null;
        }
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (compacted is not null)
        {
            // As etcd: a watcher whose next revision was compacted away is cancelled with the compact revision, and
            // the client resumes from there (after a fresh read) if it wants to.
            foreach (var id in compacted)
            {
                Remove(id);
                var header = Header(current);
                header.Revision = 0; // as etcd: this response carries no revision
                await SendAsync(new WatchResponse { Header = header, WatchId = id, Canceled = true, CompactRevision = _hub.CompactRevision },
                    cancellationToken).ConfigureAwait(false);
            }
            moved = true;
        }
        return moved;
    }

    /// <summary>
    /// The selected events in one response, or, for a watcher that asked for fragments and a response above the
    /// request size limit, in consecutive responses all but the last marked <c>fragment</c> (etcd's rule).
    /// </summary>
    private async Task SendEventsAsync(Watcher watcher, long revision, CancellationToken cancellationToken)
    {
        var limit = _node.Settings.MaxRequestBytes;
        var response = new WatchResponse { Header = Header(revision), WatchId = watcher.Id };
        if (!watcher.Fragment || _selected.Count < 2 || Size(_selected) < limit)
        {
            response.Events.AddRange(_selected);
            await SendAsync(response, cancellationToken).ConfigureAwait(false);
            return;
        }
        var bytes = 0L;
        foreach (var e in _selected)
        {
            var size = e.CalculateSize();
            if (response.Events.Count > 0 && bytes + size > limit)
            {
                response.Fragment = true;
                await SendAsync(response, cancellationToken).ConfigureAwait(false);
                response = new WatchResponse { Header = Header(revision), WatchId = watcher.Id };
                bytes = 0;
            }
            response.Events.Add(e);
            bytes += size;
        }
        await SendAsync(response, cancellationToken).ConfigureAwait(false);
    }

    private static long Size(List<Event> events)
    {
        var bytes = 0L;
        foreach (var e in events) bytes += e.CalculateSize();
        return bytes;
    }

    /// <summary>Progress notifications for quiet progress_notify watchers, and the leader check.</summary>
    private async Task TickAsync(TimeProvider time, long current, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (now >= _nextProgressTimestamp)
        {
            _nextProgressTimestamp = now + Ticks(_hub.Limits.ProgressNotifyInterval);
            foreach (var watcher in _watchers.Values)
            {
                if (!watcher.ProgressNotify) continue;
                // Only a watcher that is caught up may hear the revision (it promises nothing at or below it is missing).
                if (!watcher.SentSinceProgress && watcher.NextRevision > current)
                    await SendAsync(new WatchResponse { Header = Header(current), WatchId = watcher.Id }, cancellationToken).ConfigureAwait(false);
                watcher.SentSinceProgress = false;
            }
        }
        if (_requireLeader && now >= _nextLeaderCheckTimestamp)
        {
            _nextLeaderCheckTimestamp = now + Ticks(ElectionTimeout);
            _noLeaderChecks = HasLeader() ? 0 : _noLeaderChecks + 1;
            // As etcd's monitorLeader: a stream that requires a leader ends once the member has had none for a while.
            if (_noLeaderChecks >= NoLeaderChecksMax) throw Etcd.EtcdErrors.NoLeader();
        }
    }

    private TimeSpan NextTimerDelay(TimeProvider time)
    {
        var due = _requireLeader ? Math.Min(_nextProgressTimestamp, _nextLeaderCheckTimestamp) : _nextProgressTimestamp;
        var ticks = Math.Max(0, due - time.GetTimestamp());
        return TimeSpan.FromSeconds((double)ticks / time.TimestampFrequency) + TimeSpan.FromMilliseconds(1);
    }
}
