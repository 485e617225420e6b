using System.Globalization;
using Google.Protobuf;
using Mvccpb;
using RaftKv.Robustness.History;

namespace RaftKv.Tests.Watch;

/// <summary>
/// Watch checks for a run that compacts, where the committed history cannot be read back at the end (issue 16): the
/// union of what all watchers received is the reference, held against the watchers and the clients.
/// <list type="bullet">
/// <item>Consistent: every watcher that got a revision got the same events for it (key, type, value, prev_kv).</item>
/// <item>Each watcher, against the union from its start, passes every guarantee of <see cref="WatchGuarantees"/>
/// (ordered, unique, atomic, bookmarkable, reliable and resumable, IsCreate and prev_kv).</item>
/// <item>Reliable for clients: every acknowledged write to a watched key at or after the start is in the union, at
/// the revision its answer gave.</item>
/// <item>Valid: every put event carries a value some client wrote to that key, and a value written once (the traffic's
/// values are unique) is put at one revision only.</item>
/// <item>Serializable: a serializable get answered at revision R saw the key as the union has it at R (a member
/// serves its own state, maybe behind, but always a state the log went through).</item>
/// <item>List: a list answered at revision R holds every key the union knows at R as the union has it (present with
/// its value and mod revision, or absent); keys without an event since the start are not known and not compared.</item>
/// </list>
/// </summary>
public static class WatchCrossCheck
{
    /// <summary>Problems found (empty when every check holds).</summary>
    /// <param name="watchers">Each watcher's name and what it received, in order; all started at <paramref name="startRevision"/>.</param>
    /// <param name="operations">The clients' history of the same run.</param>
    /// <param name="prefix">The watched prefix.</param>
    /// <param name="startRevision">The revision every watcher started from.</param>
    public static List<string> Check(IReadOnlyList<(string Name, IReadOnlyList<Received> Received)> watchers, IReadOnlyList<KvOperation> operations,
        ByteString prefix, long startRevision)
    {
        ArgumentNullException.ThrowIfNull(watchers);
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(prefix);
        var problems = new List<string>();

        // The union, revision by revision, and whether the watchers agree on each.
        var union = new SortedDictionary<long, (string From, List<Event> Events)>();
        foreach (var (name, received) in watchers)
        {
            foreach (var group in received.SelectMany(r => r.Events).GroupBy(e => e.Kv.ModRevision))
            {
                var events = group.ToList();
                if (!union.TryGetValue(group.Key, out var first)) union[group.Key] = (name, events);
                else if (!events.Select(Describe).SequenceEqual(first.Events.Select(Describe)))
                    problems.Add($"Consistent: at revision {group.Key} {first.From} got [{string.Join("; ", first.Events.Select(Describe))}], {name} got [{string.Join("; ", events.Select(Describe))}]");
            }
        }
        var history = union.Values.SelectMany(v => v.Events).ToList();
        foreach (var (name, received) in watchers) problems.AddRange(WatchGuarantees.Check(name, received, history, prefix));

        // Against the clients.
        var last = union.Count == 0 ? startRevision - 1 : union.Keys.Last();
        var inUnion = history.Select(e => (e.Type, Key: e.Kv.Key.ToStringUtf8(), Value: e.Type == Event.Types.EventType.Put ? e.Kv.Value.ToStringUtf8() : null, e.Kv.ModRevision)).ToHashSet();
        foreach (var op in operations.Where(o => o.IsCompleted && o.Input.Key.StartsWith(prefix.ToStringUtf8(), StringComparison.Ordinal)))
        {
            var revision = op.Output!.Value.Revision;
            if (revision < startRevision || revision > last) continue;
            (Event.Types.EventType Type, string Key, string? Value, long ModRevision)? expected = op.Input.Kind switch
            {
                KvOperationKind.Put => (Event.Types.EventType.Put, op.Input.Key, op.Input.Value, revision),
                KvOperationKind.CompareAndPut when op.Output.Value.Succeeded => (Event.Types.EventType.Put, op.Input.Key, op.Input.Value, revision),
                KvOperationKind.Delete when op.Output.Value.Succeeded => (Event.Types.EventType.Delete, op.Input.Key, null, revision),
                _ => null,
            };
            if (expected is { } e && !inUnion.Contains(e))
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"Reliable (clients): acknowledged {op} is in no watcher's events at revision {revision}"));
        }
        var written = operations.Where(o => o.Input.Kind is KvOperationKind.Put or KvOperationKind.CompareAndPut)
            .Select(o => (o.Input.Key, o.Input.Value)).ToHashSet();
        foreach (var g in history.Where(e => e.Type == Event.Types.EventType.Put).GroupBy(e => (Key: e.Kv.Key.ToStringUtf8(), Value: e.Kv.Value.ToStringUtf8())))
        {
            if (!written.Contains((g.Key.Key, g.Key.Value)))
                problems.Add($"Valid: {g.Key.Key}={g.Key.Value} at revision {g.First().Kv.ModRevision} was written by no client");
            else if (g.Select(e => e.Kv.ModRevision).Distinct().Count() > 1)
                problems.Add($"Valid: {g.Key.Key}={g.Key.Value}, written once, was put at revisions {string.Join(", ", g.Select(e => e.Kv.ModRevision).Distinct())}");
        }
        SerializableReads(history, operations, prefix, startRevision, last, problems);
        Lists(history, operations, prefix, startRevision, last, problems);
        return problems;
    }

    private static void Lists(List<Event> history, IReadOnlyList<KvOperation> operations, ByteString prefix, long start, long last, List<string> problems)
    {
        foreach (var op in operations.Where(o => o is { IsCompleted: true, Input.Kind: KvOperationKind.List } && o.Input.Key == prefix.ToStringUtf8()))
        {
            var read = op.Output!.Value;
            if (read.Revision < start || read.Revision > last) continue;
            var listed = (read.Value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries).ToDictionary(kv => kv[..kv.IndexOf('=', StringComparison.Ordinal)], kv => kv);
            foreach (var key in history.Where(e => e.Kv.ModRevision <= read.Revision).GroupBy(e => e.Kv.Key.ToStringUtf8()))
            {
                var at = key.Last();
                var want = at.Type == Event.Types.EventType.Put
                    ? string.Create(CultureInfo.InvariantCulture, $"{key.Key}={at.Kv.Value.ToStringUtf8()}@{at.Kv.ModRevision}") : null;
                var got = listed.GetValueOrDefault(key.Key);
                if (got != want)
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture, $"List: {op} has {got ?? $"no {key.Key}"}, at revision {read.Revision} the history has {want ?? $"no {key.Key}"}"));
                    break;
                }
            }
        }
    }

    // A serializable read at R must match the key's last event at or below R since the start (none: not known, skipped).
    private static void SerializableReads(List<Event> history, IReadOnlyList<KvOperation> operations, ByteString prefix, long start, long last, List<string> problems)
    {
        var byKey = history.GroupBy(e => e.Kv.Key.ToStringUtf8()).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var op in operations.Where(o => o is { IsCompleted: true, Input.Kind: KvOperationKind.SerializableGet } && o.Input.Key.StartsWith(prefix.ToStringUtf8(), StringComparison.Ordinal)))
        {
            var read = op.Output!.Value;
            if (read.Revision < start || read.Revision > last || !byKey.TryGetValue(op.Input.Key, out var events)) continue;
            var at = events.LastOrDefault(e => e.Kv.ModRevision <= read.Revision);
            if (at is null) continue;
            var (value, mod) = at.Type == Event.Types.EventType.Put ? (at.Kv.Value.ToStringUtf8(), at.Kv.ModRevision) : ((string?)null, 0L);
            if (read.Value != value || read.ModRevision != mod)
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"Serializable: {op}, but at revision {read.Revision} the history has {value ?? "<absent>"} mod={mod}"));
        }
    }

    private static string Describe(Event e) =>
        $"{e.Type} {e.Kv.Key.ToStringUtf8()}={e.Kv.Value.ToStringUtf8()}@{e.Kv.ModRevision} prev={e.PrevKv?.Value.ToStringUtf8() ?? "none"}";
}
