using Google.Protobuf;
using Mvccpb;
using RaftKv.Robustness.History;

namespace RaftKv.Tests.Watch;

/// <summary>
/// The watch checks on known-good and known-bad runs (issue 16: a checker that cannot fail proves nothing): a lost,
/// duplicated or reordered event, watchers that disagree, an acknowledged write no watcher saw, an event nobody
/// wrote, and a serializable read or a list of a state the log never went through are each caught, and the good run
/// passes.
/// </summary>
public sealed class WatchCrossCheckTests
{
    private static readonly ByteString Prefix = ByteString.CopyFromUtf8("k");

    // Revisions 10..13: put k0=a, put k1=b, put k0=c, delete k1; all acknowledged.
    private static readonly Event[] History =
    [
        Put("k0", "a", 10, create: 10, prev: null),
        Put("k1", "b", 11, create: 11, prev: null),
        Put("k0", "c", 12, create: 10, prev: ("a", 10, 10)),
        Delete("k1", 13, prev: ("b", 11, 11)),
    ];

    private static readonly KvOperation[] Clients =
    [
        Op(0, KvOperationKind.Put, "k0", "a", 10),
        Op(1, KvOperationKind.Put, "k1", "b", 11),
        Op(2, KvOperationKind.Put, "k0", "c", 12),
        Op(3, KvOperationKind.Delete, "k1", null, 13, succeeded: true),
    ];

    [Fact]
    public void TwoWatchersWithTheWholeHistory_OneAcrossAResume_Pass()
    {
        Received[] first = [One(History[0]), One(History[1]), new Received([], 11, false), One(History[2]), One(History[3])];
        Received[] second = [new Received([History[0], History[1]], 0, false), new Received([History[2], History[3]], 0, false)];
        Assert.Empty(WatchCrossCheck.Check([("w0", first), ("w1", second)], Clients, Prefix, 10));
    }

    [Fact]
    public void AWatcherThatMissesAnEvent_IsCaught()
    {
        Received[] whole = [.. History.Select(One)];
        Received[] gap = [One(History[0]), One(History[2]), One(History[3])];
        Assert.Contains(WatchCrossCheck.Check([("w0", whole), ("w1", gap)], Clients, Prefix, 10), p => p.StartsWith("w1 Reliable", StringComparison.Ordinal));
    }

    [Fact]
    public void AnEventDeliveredTwice_IsCaught()
    {
        Received[] twice = [One(History[0]), One(History[1]), One(History[1]), One(History[2]), One(History[3])];
        Assert.Contains(WatchCrossCheck.Check([("w0", twice)], Clients, Prefix, 10), p => p.StartsWith("w0 Unique", StringComparison.Ordinal));
    }

    [Fact]
    public void EventsOutOfOrder_AreCaught()
    {
        Received[] swapped = [One(History[1]), One(History[0]), One(History[2]), One(History[3])];
        Assert.Contains(WatchCrossCheck.Check([("w0", swapped)], Clients, Prefix, 10), p => p.StartsWith("w0 Ordered", StringComparison.Ordinal));
    }

    [Fact]
    public void WatchersThatDisagreeOnARevision_AreCaught()
    {
        Received[] whole = [.. History.Select(One)];
        Received[] other = [One(History[0]), One(History[1]), One(Put("k0", "x", 12, create: 10, prev: ("a", 10, 10))), One(History[3])];
        Assert.Contains(WatchCrossCheck.Check([("w0", whole), ("w1", other)], Clients, Prefix, 10), p => p.StartsWith("Consistent: at revision 12", StringComparison.Ordinal));
    }

    [Fact]
    public void AnAcknowledgedWriteNoWatcherSaw_IsCaught()
    {
        // Every watcher agrees with the others, and each is complete against their union: only the clients know.
        Received[] lost = [One(History[0]), One(History[1]), One(History[3])];
        var problems = WatchCrossCheck.Check([("w0", lost), ("w1", lost)], Clients, Prefix, 10);
        Assert.Contains(problems, p => p.StartsWith("Reliable (clients)", StringComparison.Ordinal) && p.Contains("put(k0, c)", StringComparison.Ordinal));
    }

    [Fact]
    public void AnEventNoClientWrote_OrOneWriteAtTwoRevisions_IsCaught()
    {
        Received[] phantom = [.. History.Select(One), One(Put("k2", "ghost", 14, create: 14, prev: null))];
        Assert.Contains(WatchCrossCheck.Check([("w0", phantom)], Clients, Prefix, 10), p => p.StartsWith("Valid: k2=ghost", StringComparison.Ordinal));
        Received[] again = [.. History.Select(One), One(Put("k0", "a", 14, create: 10, prev: ("c", 10, 12)))];
        Assert.Contains(WatchCrossCheck.Check([("w0", again)], Clients, Prefix, 10), p => p.StartsWith("Valid: k0=a, written once, was put at revisions 10, 14", StringComparison.Ordinal));
    }

    [Fact]
    public void ASerializableRead_MustSeeTheKeyAsTheHistoryHasItAtItsRevision()
    {
        Received[] whole = [.. History.Select(One)];
        // Behind but true: at revision 11 k0 was a@10; and at 13 k1 was gone.
        KvOperation[] behind = [.. Clients, Read(4, "k0", "a", 10, revision: 11), Read(5, "k1", null, 0, revision: 13)];
        Assert.Empty(WatchCrossCheck.Check([("w0", whole)], behind, Prefix, 10));
        // At revision 12 k0 was c: a member that answers a@10 there serves a state the log never went through.
        KvOperation[] stale = [.. Clients, Read(4, "k0", "a", 10, revision: 12)];
        Assert.Contains(WatchCrossCheck.Check([("w0", whole)], stale, Prefix, 10), p => p.StartsWith("Serializable:", StringComparison.Ordinal));
    }

    [Fact]
    public void AList_MustShowEveryKeyAsTheHistoryHasItAtItsRevision()
    {
        Received[] whole = [.. History.Select(One)];
        KvOperation List(string listing, long revision) =>
            new(9, ClientId: 9, CallTime: 90, ReturnTime: 95, new KvInput(KvOperationKind.List, "k"), new KvOutput(revision, listing));
        Assert.Empty(WatchCrossCheck.Check([("w0", whole)], [.. Clients, List("k0=c@12;k1=b@11", 12), List("k0=c@12", 13)], Prefix, 10));
        // A key deleted by revision 13 still listed, or a key written by 11 missing: lists of states the log never held.
        Assert.Contains(WatchCrossCheck.Check([("w0", whole)], [.. Clients, List("k0=c@12;k1=b@11", 13)], Prefix, 10), p => p.StartsWith("List:", StringComparison.Ordinal));
        Assert.Contains(WatchCrossCheck.Check([("w0", whole)], [.. Clients, List("k0=a@10", 11)], Prefix, 10), p => p.StartsWith("List:", StringComparison.Ordinal));
    }

    private static KvOperation Read(int id, string key, string? value, long modRevision, long revision) =>
        new(id, ClientId: id, CallTime: id * 10, ReturnTime: id * 10 + 5, new KvInput(KvOperationKind.SerializableGet, key), new KvOutput(revision, value, modRevision));

    private static Received One(Event e) => new([e], 0, false);

    private static Event Put(string key, string value, long revision, long create, (string Value, long Create, long Mod)? prev) => new()
    {
        Type = Event.Types.EventType.Put,
        Kv = new KeyValue { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), ModRevision = revision, CreateRevision = create, Version = 1 },
        PrevKv = prev is { } p ? new KeyValue { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(p.Value), CreateRevision = p.Create, ModRevision = p.Mod, Version = 1 } : null,
    };

    private static Event Delete(string key, long revision, (string Value, long Create, long Mod) prev) => new()
    {
        Type = Event.Types.EventType.Delete,
        Kv = new KeyValue { Key = ByteString.CopyFromUtf8(key), ModRevision = revision },
        PrevKv = new KeyValue { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(prev.Value), CreateRevision = prev.Create, ModRevision = prev.Mod, Version = 1 },
    };

    private static KvOperation Op(int id, KvOperationKind kind, string key, string? value, long revision, bool succeeded = false) =>
        new(id, ClientId: id, CallTime: id * 10, ReturnTime: id * 10 + 5, new KvInput(kind, key, value), new KvOutput(revision, Succeeded: succeeded));
}
