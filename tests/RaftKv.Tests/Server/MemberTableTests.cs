using Google.Protobuf;
using RaftKv.Raft;
using RaftKv.Server.Cluster;
using EtcdMember = RaftKv.Etcd.Api.Member;

namespace RaftKv.Tests.Server;

/// <summary>
/// The replicated member table: a pure, total function of the configuration changes applied (thesis chapter 4:
/// membership changes go through the log, so every member derives the same table), whose voters and learners mirror
/// the Raft configuration whatever the changes' contexts hold.
/// </summary>
public sealed class MemberTableTests
{
    private static ConfChange Change(ConfChangeType type, ulong id, MemberChange? context = null) =>
        new([new ConfChangeSingle(type, id)], ConfChangeTransition.Auto, context?.ToByteArray() ?? ReadOnlyMemory<byte>.Empty);

    private static MemberChange Described(ulong id, string name, params string[] peerUrls) =>
        new() { Member = new EtcdMember { ID = id, Name = name, PeerURLs = { peerUrls } } };

    private static MemberTable Bootstrapped() => MemberTable.Empty
        .Apply(Change(ConfChangeType.AddVoter, 1, Described(1, "A", "http://127.0.0.1:1")))
        .Apply(Change(ConfChangeType.AddVoter, 2, Described(2, "B", "http://127.0.0.1:2")))
        .Apply(Change(ConfChangeType.AddVoter, 3, Described(3, "C", "http://127.0.0.1:3")));

    [Fact]
    public void BootstrapEntries_GiveTheFirstMembersWithTheirNamesAndUrls()
    {
        var table = Bootstrapped();
        Assert.Equal([1UL, 2, 3], table.Members.Select(m => m.Id));
        Assert.Equal(["A", "B", "C"], table.Members.Select(m => m.Name));
        Assert.All(table.Members, m => Assert.False(m.IsLearner));
        Assert.Equal("B", table.FindByPeerUrl("http://127.0.0.1:2")!.Name);
    }

    [Fact]
    public void LearnerAddedThenPromoted_RemovedMemberIsRemembered()
    {
        var table = Bootstrapped().Apply(Change(ConfChangeType.AddLearner, 9, Described(9, "", "http://127.0.0.1:9")));
        Assert.True(table.Find(9)!.IsLearner);
        Assert.False(table.Find(9)!.IsStarted);
        table = table.Apply(Change(ConfChangeType.PromoteLearner, 9));
        Assert.False(table.Find(9)!.IsLearner);
        Assert.Equal(["http://127.0.0.1:9"], table.Find(9)!.PeerUrls);
        table = table.Apply(Change(ConfChangeType.Remove, 2));
        Assert.Null(table.Find(2));
        Assert.True(table.WasRemoved(2));
        Assert.False(table.WasRemoved(1));
    }

    [Fact]
    public void UpdateNode_ChangesOnlyWhatItsFlagsName()
    {
        var table = Bootstrapped();
        var publish = new MemberChange { Member = new EtcdMember { ID = 2, Name = "B", ClientURLs = { "http://127.0.0.1:22" }, PeerURLs = { "http://evil:1" } }, SetAttributes = true };
        table = table.Apply(Change(ConfChangeType.UpdateNode, 2, publish));
        Assert.Equal(["http://127.0.0.1:22"], table.Find(2)!.ClientUrls);
        Assert.Equal(["http://127.0.0.1:2"], table.Find(2)!.PeerUrls); // attributes only: the peer URLs stay

        var move = new MemberChange { Member = new EtcdMember { ID = 2, Name = "renamed", PeerURLs = { "http://127.0.0.1:20" } }, SetPeerUrls = true };
        table = table.Apply(Change(ConfChangeType.UpdateNode, 2, move));
        Assert.Equal(["http://127.0.0.1:20"], table.Find(2)!.PeerUrls);
        Assert.Equal("B", table.Find(2)!.Name);
    }

    [Fact]
    public void EncodeDecode_RoundTrips()
    {
        var table = Bootstrapped().Apply(Change(ConfChangeType.AddLearner, 7, Described(7, "", "http://127.0.0.1:7"))).Apply(Change(ConfChangeType.Remove, 1));
        var decoded = MemberTable.Decode(table.Encode());
        Assert.Equal(table.Members, decoded.Members);
        Assert.Equal(table.Removed, decoded.Removed);
        Assert.True(MemberTable.Decode([]).IsEmpty);
        Assert.Throws<InvalidDataException>(() => MemberTable.Decode([0xff, 0xff, 0xff]));
    }

    [Fact]
    public void HostileContexts_NeverThrow_AndTheRolesStillFollowTheChange()
    {
        var random = new Random(42);
        var table = Bootstrapped();
        for (var i = 0; i < 500; i++)
        {
            var garbage = new byte[random.Next(0, 64)];
            random.NextBytes(garbage);
            var id = (ulong)random.Next(1, 12);
            var type = (ConfChangeType)random.Next(1, 6);
            var change = new ConfChange([new ConfChangeSingle(type, id)], ConfChangeTransition.Auto, garbage);
            table = table.Apply(change);
            switch (type)
            {
                case ConfChangeType.AddVoter: Assert.False(table.Find(id)!.IsLearner); break;
                case ConfChangeType.AddLearner: Assert.True(table.Find(id)!.IsLearner); break;
                case ConfChangeType.PromoteLearner: Assert.False(table.Find(id)!.IsLearner); break;
                case ConfChangeType.Remove: Assert.Null(table.Find(id)); break;
            }
        }
        // Oversize metadata is cut, and the table always fits the store's record.
        var huge = Described(40, new string('n', 10_000), [.. Enumerable.Range(0, 50).Select(i => "http://" + new string('h', 5000) + i)]);
        table = table.Apply(Change(ConfChangeType.AddVoter, 40, huge));
        Assert.Equal(MemberTable.MaxFieldChars, table.Find(40)!.Name.Length);
        Assert.Equal(MemberTable.MaxUrls, table.Find(40)!.PeerUrls.Count);
        Assert.True(table.Encode().Length <= RaftKv.Kv.KvStore.ClusterRecordMaxBytes);
    }

    [Fact]
    public void RemovedIds_AreABoundedWindow()
    {
        var table = Bootstrapped();
        for (ulong id = 100; id < 100 + MemberTable.MaxRemovedIds + 10; id++)
        {
            table = table.Apply(Change(ConfChangeType.AddLearner, id)).Apply(Change(ConfChangeType.Remove, id));
        }
        Assert.Equal(MemberTable.MaxRemovedIds, table.Removed.Count);
        Assert.False(table.WasRemoved(100));
        Assert.True(table.WasRemoved(100 + MemberTable.MaxRemovedIds + 9));
    }
}
