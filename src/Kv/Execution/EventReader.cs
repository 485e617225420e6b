using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Execution;

/// <summary>Turns the change log back into etcd events, for watchers that start in the past.</summary>
internal static class EventReader
{
    /// <summary>A <see cref="KvEventPage"/>, or <see cref="KvError.Compacted"/> when the start is below the compaction.</summary>
    public static object Read(IMvccView state, long fromRevision, int maxEvents)
    {
        if (fromRevision < state.CompactRevision)
        {
            return KvError.Compacted;
        }

        var events = new List<Event>();
        var lastRevision = 0L;
        foreach (var change in state.Changes(fromRevision))
        {
            var entry = change.Entry;
            if (events.Count >= maxEvents && entry.Main != lastRevision)
            {
                return new KvEventPage(events, lastRevision + 1);
            }

            KeyValue? prevKv = change.Previous is { IsTombstone: false } previous ? KeyVersion.ToKeyValue(change.Key, previous) : null;
            events.Add(entry.IsTombstone
                ? new Event { Type = Event.Types.EventType.Delete, Kv = new KeyValue { Key = change.Key, ModRevision = entry.Main }, PrevKv = prevKv }
                : new Event { Type = Event.Types.EventType.Put, Kv = KeyVersion.ToKeyValue(change.Key, entry), PrevKv = prevKv });
            lastRevision = entry.Main;
        }

        return new KvEventPage(events, Math.Max(fromRevision, state.CurrentRevision + 1));
    }
}
