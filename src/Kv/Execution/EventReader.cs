using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Execution;

/// <summary>Turns the change log back into etcd events, for watchers that start in the past.</summary>
internal static class EventReader
{
    /// <summary>A <see cref="KvEventPage"/>, or <see cref="KvError.Compacted"/> when the start is below the compaction.</summary>
    public static object Read(MvccState state, long fromRevision, int maxEvents)
    {
        if (fromRevision < state.CompactRevision)
        {
            return KvError.Compacted;
        }

        var events = new List<Event>();
        var log = state.Log;
        var lastRevision = 0L;
        for (var i = log.FirstAtOrAfter(fromRevision); i < log.Count; i++)
        {
            ref readonly var change = ref log[i];
            if (events.Count >= maxEvents && change.Main != lastRevision)
            {
                return new KvEventPage(events, lastRevision + 1);
            }

            var history = change.History;
            var index = history.FindExact(change.Main, change.Sub);
            if (index < 0)
            {
                continue; // a tombstone at the compaction revision, dropped by that compaction
            }

            ref readonly var entry = ref history[index];
            KeyValue? prevKv = index > 0 && !history[index - 1].IsTombstone ? history.ToKeyValue(history[index - 1]) : null;
            events.Add(entry.IsTombstone
                ? new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = history.Key, ModRevision = entry.Main }, PrevKv = prevKv }
                : new Event { Type = Event.Types.EventType.Put, Kv = history.ToKeyValue(entry), PrevKv = prevKv });
            lastRevision = change.Main;
        }

        return new KvEventPage(events, Math.Max(fromRevision, state.CurrentRevision + 1));
    }
}
