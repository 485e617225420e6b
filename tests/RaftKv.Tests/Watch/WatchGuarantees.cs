using Google.Protobuf;
using Mvccpb;

namespace RaftKv.Tests.Watch;

/// <summary>
/// etcd's documented watch guarantees (its API guarantees page and the checks of its robustness suite), checked on
/// what one watcher received against the committed history of the watched keys. Each check names the guarantee.
/// </summary>
public static class WatchGuarantees
{
    /// <summary>Problems found (empty when every guarantee holds).</summary>
    /// <param name="watcher">Who received it, for the messages.</param>
    /// <param name="received">Everything the watcher got, in order.</param>
    /// <param name="history">Every event of the watched range, in revision order, from the watcher's start revision.</param>
    /// <param name="prefix">The watched prefix.</param>
    public static List<string> Check(string watcher, IReadOnlyList<Received> received, IReadOnlyList<Event> history, ByteString prefix)
    {
        var problems = new List<string>();
        var events = received.SelectMany(r => r.Events).ToList();
        // Filter: only matching keys.
        foreach (var e in events.Where(e => !e.Kv.Key.Span.StartsWith(prefix.Span)))
            problems.Add($"{watcher} Filter: got key {e.Kv.Key.ToStringUtf8()} outside the prefix");
        // Ordered and Unique: revisions never go back, and no (revision, key) twice.
        for (var i = 1; i < events.Count; i++)
        {
            var (a, b) = (events[i - 1].Kv, events[i].Kv);
            if (b.ModRevision < a.ModRevision) problems.Add($"{watcher} Ordered: revision {b.ModRevision} after {a.ModRevision}");
        }
        foreach (var g in events.GroupBy(e => (e.Kv.ModRevision, e.Kv.Key)).Where(g => g.Count() > 1))
            problems.Add($"{watcher} Unique: {g.Key.Key.ToStringUtf8()} at revision {g.Key.ModRevision} came {g.Count()} times");
        // Atomic: a revision's events all in one response (no fragments asked for).
        var responseOf = new Dictionary<long, int>();
        for (var i = 0; i < received.Count; i++)
        {
            foreach (var rev in received[i].Events.Select(e => e.Kv.ModRevision).Distinct())
            {
                if (responseOf.TryGetValue(rev, out var earlier) && earlier != i) problems.Add($"{watcher} Atomic: revision {rev} split over responses {earlier} and {i}");
                responseOf[rev] = i;
            }
        }
        // Bookmarkable: after a progress notification at R, no event at or below R.
        var bookmark = 0L;
        foreach (var r in received)
        {
            if (r.ProgressRevision > 0) bookmark = Math.Max(bookmark, r.ProgressRevision);
            foreach (var e in r.Events.Where(e => e.Kv.ModRevision <= bookmark))
                problems.Add($"{watcher} Bookmarkable: event at {e.Kv.ModRevision} after a progress notification at {bookmark}");
        }
        // Reliable and Resumable: exactly the history, nothing missing between two delivered events, across resumes.
        var got = events.Select(Describe).ToList();
        var want = history.Select(Describe).ToList();
        var firstDifference = Enumerable.Range(0, Math.Min(got.Count, want.Count)).FirstOrDefault(i => got[i] != want[i], -1);
        if (firstDifference >= 0) problems.Add($"{watcher} Reliable: event {firstDifference} is {got[firstDifference]}, the history has {want[firstDifference]}");
        else if (got.Count != want.Count) problems.Add($"{watcher} Reliable: got {got.Count} events, the history has {want.Count}");
        // IsCreate and prev_kv: against the state before each event, replayed from the history.
        var state = new Dictionary<ByteString, KeyValue>();
        foreach (var e in events)
        {
            state.TryGetValue(e.Kv.Key, out var before);
            if (e.Type == Event.Types.EventType.Put)
            {
                var isCreate = e.Kv.CreateRevision == e.Kv.ModRevision;
                if (isCreate != (before is null)) problems.Add($"{watcher} IsCreate: {e.Kv.Key.ToStringUtf8()} at {e.Kv.ModRevision} says create={isCreate}, the key {(before is null ? "did not exist" : "existed")}");
            }
            if (!Equals(e.PrevKv, before)) problems.Add($"{watcher} prev_kv: {e.Kv.Key.ToStringUtf8()} at {e.Kv.ModRevision} has prev {e.PrevKv?.Value.ToStringUtf8() ?? "none"}, the value before was {before?.Value.ToStringUtf8() ?? "none"}");
            Apply(state, e);
        }
        return problems;
    }

    private static void Apply(Dictionary<ByteString, KeyValue> state, Event e)
    {
        if (e.Type == Event.Types.EventType.Put) state[e.Kv.Key] = e.Kv;
        else state.Remove(e.Kv.Key);
    }

    private static string Describe(Event e) => $"{e.Type} {e.Kv.Key.ToStringUtf8()}={e.Kv.Value.ToStringUtf8()}@{e.Kv.ModRevision}";
}
