using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using FilterType = RaftKv.Etcd.Api.WatchCreateRequest.Types.FilterType;

namespace RaftKv.Server.Watch;

/// <summary>
/// One watcher of a stream: what it matches (etcd's key range rules), what it wants (filters, prev_kv, fragment,
/// progress) and how far it has got. Owned by its stream's sender; not thread-safe.
/// </summary>
internal sealed class Watcher
{
    private readonly byte[] _key;
    // null: the key alone; empty: every key at or after it; else [key, end).
    private readonly byte[]? _end;
    private readonly bool _noPut;
    private readonly bool _noDelete;

    public Watcher(long id, WatchCreateRequest request, long nextRevision)
    {
        Id = id;
        // As etcd: an empty key is the smallest key, "\0"; a range end of "\0" means every key from the key on.
        _key = request.Key.IsEmpty ? [0] : request.Key.ToByteArray();
        _end = request.RangeEnd.IsEmpty ? null : request.RangeEnd.Length == 1 && request.RangeEnd[0] == 0 ? [] : request.RangeEnd.ToByteArray();
        _noPut = request.Filters.Contains(FilterType.Noput);
        _noDelete = request.Filters.Contains(FilterType.Nodelete);
        PrevKv = request.PrevKv;
        Fragment = request.Fragment;
        ProgressNotify = request.ProgressNotify;
        NextRevision = nextRevision;
    }

    public long Id { get; }

    /// <summary>Whether the request names a range that holds no key: an end (not "\0") at or before the key.</summary>
    public static bool IsEmptyRange(WatchCreateRequest request)
    {
        var end = request.RangeEnd.Span;
        if (end.IsEmpty || end is [0]) return false;
        var key = request.Key.IsEmpty ? [(byte)0] : request.Key.Span;
        return key.SequenceCompareTo(end) >= 0;
    }

    public bool PrevKv { get; }

    public bool Fragment { get; }

    public bool ProgressNotify { get; }

    /// <summary>The first revision not yet delivered: every event before it that matches has been sent.</summary>
    public long NextRevision { get; set; }

    /// <summary>Whether an event was sent since the last progress tick (etcd sends progress only to quiet watchers).</summary>
    public bool SentSinceProgress { get; set; }

    /// <summary>Whether <paramref name="key"/> is in the watched range.</summary>
    public bool Covers(ByteString key)
    {
        var k = key.Span;
        var fromKey = k.SequenceCompareTo(_key);
        if (_end is null) return fromKey == 0;
        if (fromKey < 0) return false;
        return _end.Length == 0 || k.SequenceCompareTo(_end) < 0;
    }

    /// <summary>
    /// The events this watcher gets from <paramref name="events"/>, each as it wants it (prev_kv or not). Copies
    /// without prev_kv are made once per page: <paramref name="withoutPrevKv"/> (as long as the page) holds those
    /// made so far, shared by every watcher of the stream that reads the same page in the same round.
    /// </summary>
    public void Select(IReadOnlyList<Event> events, Event?[] withoutPrevKv, List<Event> into)
    {
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e.Type == Event.Types.EventType.Put ? _noPut : _noDelete) continue;
            if (!Covers(e.Kv.Key)) continue;
            into.Add(PrevKv || e.PrevKv is null ? e : withoutPrevKv[i] ??= new Event { Type = e.Type, Kv = e.Kv });
        }
    }
}
