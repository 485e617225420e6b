using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv;

namespace RaftKv.Server.Watch;

/// <summary>
/// What every watch stream on this member reads from: the changes of the latest revisions, kept in memory as they are
/// applied, and the store's history for anything older. Watchers pull: each stream advances its own watchers at the
/// pace its client reads, so a slow client costs nothing but its own position, and the Raft loop only appends here.
/// </summary>
/// <remarks>
/// <para>The recent window is contiguous (revision <see cref="WindowStart"/> to its end, each revision's events whole)
/// and bounded by <see cref="WindowEventsMax"/> and <see cref="WindowBytesMax"/>; a watcher behind it reads the store
/// (<see cref="KvStore.ReadEvents"/>), as etcd's unsynced watchers do, and is cancelled with the compact revision if
/// that history is gone. Events are the store's own apply results, so the window and the history never disagree.</para>
/// <para>Thread-safety: <see cref="Publish"/> and <see cref="Reset"/> run on the applying thread; everything else on
/// any thread.</para>
/// </remarks>
public sealed class WatchHub
{
    /// <summary>Events kept in the recent window at most.</summary>
    public const int WindowEventsMax = 65_536;

    /// <summary>Bytes (of encoded events) kept in the recent window at most.</summary>
    public const long WindowBytesMax = 64L << 20;

    /// <summary>Events read from the store's history per read.</summary>
    public const int HistoryPageEventsMax = 1_000;

    private readonly KvStore _store;
    private readonly Lock _gate = new();
    // The window: revisions _windowStart .. _windowStart + _count - 1, oldest first.
    // (Each revision has at least one event, so WindowEventsMax slots hold any window.)
    private readonly (IReadOnlyList<Event> Events, long Bytes)[] _ring = new (IReadOnlyList<Event>, long)[WindowEventsMax];
    private int _ringHead; // slot of _windowStart
    private int _count;    // revisions in the window
    private long _windowStart;
    private long _windowEvents;
    private long _windowBytes;
    private TaskCompletionSource _advanced = NewSignal();
    private long _streams;
    private long _watchers;
    private long _eventsSent;
    private long _historyReads;

    /// <summary>A hub over <paramref name="store"/>, starting after its current revision.</summary>
    public WatchHub(KvStore store, WatchLimits limits)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        Limits = limits ?? throw new ArgumentNullException(nameof(limits));
        _windowStart = store.Revision + 1;
    }

    /// <summary>The limits every stream on this member obeys.</summary>
    public WatchLimits Limits { get; }

    /// <summary>The store's revision: everything at or below it can be read.</summary>
    public long CurrentRevision
    {
        get
        {
            lock (_gate) return Math.Max(_windowStart + _count - 1, _store.Revision);
        }
    }

    /// <summary>The oldest revision the recent window holds (it may be empty: then the next one to come).</summary>
    public long WindowStart
    {
        get
        {
            lock (_gate) return _windowStart;
        }
    }

    /// <summary>Open watch streams on this member.</summary>
    public long Streams => Interlocked.Read(ref _streams);

    /// <summary>Watchers on this member, all streams together.</summary>
    public long Watchers => Interlocked.Read(ref _watchers);

    /// <summary>Events sent to watchers since the start.</summary>
    public long EventsSent => Interlocked.Read(ref _eventsSent);

    /// <summary>Reads of the store's history by watchers behind the recent window (slow or starting in the past).</summary>
    public long HistoryReads => Interlocked.Read(ref _historyReads);

    /// <summary>The store's compact revision: history below it is gone.</summary>
    public long CompactRevision => _store.CompactRevision;

    /// <summary>
    /// Records the changes of one applied revision (an apply result with events). A revision that does not follow the
    /// window's last one (the store was replaced by a snapshot meanwhile) restarts the window at it.
    /// </summary>
    public void Publish(long revision, IReadOnlyList<Event> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) return;
        var bytes = 0L;
        foreach (var e in events) bytes += e.CalculateSize();
        TaskCompletionSource advanced;
        lock (_gate)
        {
            if (revision != _windowStart + _count) Clear(revision);
            while (_count > 0 && (_count == _ring.Length || _windowEvents + events.Count > WindowEventsMax || _windowBytes + bytes > WindowBytesMax))
            {
                var (dropped, droppedBytes) = _ring[_ringHead];
                _ring[_ringHead] = default;
                _ringHead = (_ringHead + 1) % _ring.Length;
                _count--;
                _windowStart++;
                _windowEvents -= dropped.Count;
                _windowBytes -= droppedBytes;
            }
            _ring[(_ringHead + _count) % _ring.Length] = (events, bytes);
            _count++;
            _windowEvents += events.Count;
            _windowBytes += bytes;
            advanced = _advanced;
            _advanced = NewSignal();
        }
        advanced.SetResult();
    }

    /// <summary>The store was replaced (a snapshot was installed): forget the window and wake every stream.</summary>
    public void Reset()
    {
        TaskCompletionSource advanced;
        lock (_gate)
        {
            Clear(_store.Revision + 1);
            advanced = _advanced;
            _advanced = NewSignal();
        }
        advanced.SetResult();
    }

    /// <summary>A task that completes when a revision after <paramref name="revision"/> can be read.</summary>
    public Task WhenAfter(long revision)
    {
        lock (_gate)
        {
            return Math.Max(_windowStart + _count - 1, _store.Revision) > revision ? Task.CompletedTask : _advanced.Task;
        }
    }

    /// <summary>
    /// Whole revisions from <paramref name="fromRevision"/> on, in order, at most <paramref name="maxEvents"/> events
    /// and <paramref name="maxBytes"/> encoded bytes (more only when the first revision alone has more), and where to
    /// continue. Empty, continuing at the same revision, when nothing from it exists yet.
    /// </summary>
    /// <exception cref="KvException">Compacted, when the history at <paramref name="fromRevision"/> is gone.</exception>
    public KvEventPage Read(long fromRevision, int maxEvents, long maxBytes = long.MaxValue) => Trim(ReadPage(fromRevision, maxEvents), maxBytes);

    // Cuts a page at the first revision boundary past maxBytes, so responses stay within what clients accept (gRPC
    // clients refuse messages above 4 MiB by default) whatever the values' sizes.
    private static KvEventPage Trim(KvEventPage page, long maxBytes)
    {
        var bytes = 0L;
        for (var i = 0; i < page.Events.Count; i++)
        {
            bytes += page.Events[i].CalculateSize();
            if (bytes <= maxBytes || i == 0) continue;
            var revision = page.Events[i].Kv.ModRevision;
            var cut = i;
            while (cut > 0 && page.Events[cut - 1].Kv.ModRevision == revision) cut--;
            if (cut == 0) continue; // the first revision is whole or nothing
            return new KvEventPage(page.Events.Take(cut).ToList(), revision);
        }
        return page;
    }

    private KvEventPage ReadPage(long fromRevision, int maxEvents)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEvents);
        // The window may still hold compacted revisions: a watcher must not see what the store no longer has.
        if (fromRevision < _store.CompactRevision) throw new KvException(KvError.Compacted);
        lock (_gate)
        {
            var end = _windowStart + _count;
            if (fromRevision >= _windowStart && fromRevision < end)
            {
                var taken = new List<Event>();
                var next = fromRevision;
                for (var i = (int)(fromRevision - _windowStart); i < _count; i++)
                {
                    var events = _ring[(_ringHead + i) % _ring.Length].Events;
                    if (taken.Count > 0 && taken.Count + events.Count > maxEvents) break;
                    taken.AddRange(events);
                    next++;
                }
                return new KvEventPage(taken, next);
            }
            if (fromRevision >= end && fromRevision > _store.Revision) return new KvEventPage([], fromRevision);
            if (fromRevision < _windowStart) Interlocked.Increment(ref _historyReads);
        }
        // Behind the window, or applied but not yet published here: the store has it.
        return _store.ReadEvents(fromRevision, Math.Min(maxEvents, HistoryPageEventsMax));
    }

    internal bool TryOpenStream()
    {
        if (Interlocked.Increment(ref _streams) <= Limits.StreamsMax) return true;
        Interlocked.Decrement(ref _streams);
        return false;
    }

    internal void CloseStream() => Interlocked.Decrement(ref _streams);

    internal void WatcherAdded() => Interlocked.Increment(ref _watchers);

    internal void WatchersRemoved(int count) => Interlocked.Add(ref _watchers, -count);

    internal void Sent(int events) => Interlocked.Add(ref _eventsSent, events);

    private void Clear(long start)
    {
        Array.Clear(_ring);
        _ringHead = 0;
        _count = 0;
        _windowStart = start;
        _windowEvents = 0;
        _windowBytes = 0;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
