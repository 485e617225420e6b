using System.Text;
using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>
/// A configuration change's application data (etcd-io/raft's ConfChangeV2.Context), the UpdateNode change that
/// carries only such data (etcd's ConfChangeUpdateNode), their encoding, and the reason a leader gives for refusing a
/// change (thesis chapter 4).
/// </summary>
public sealed class ConfChangeContextTests
{
    private static readonly byte[] Context = Encoding.UTF8.GetBytes("{\"name\":\"d\",\"peerURLs\":[\"http://d:2380\"]}");

    [Fact]
    public void WithoutContextOrUpdate_TheEncodingIsFormat1_ByteForByte()
    {
        // What every earlier version wrote and reads: version 1, transition, count, then (type, id) pairs.
        var bytes = ConfChange.Single(ConfChangeType.AddLearner, 7).Encode();
        Assert.Equal(new byte[] { 1, 0, 1, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0 }, bytes);
        Assert.Equal(new byte[] { 1, 0, 0, 0 }, ConfChange.LeaveJoint.Encode());
    }

    [Fact]
    public void Context_RoundTrips_InFormat2()
    {
        var change = new ConfChange([new(ConfChangeType.AddLearner, 7), new(ConfChangeType.Remove, ulong.MaxValue)], ConfChangeTransition.JointExplicit, Context);
        var bytes = change.Encode();
        Assert.Equal(2, bytes[0]);
        Assert.Equal(4 + 2 * 9 + 4 + Context.Length, bytes.Length);
        var decoded = ConfChange.Decode(bytes);
        Assert.Equal(change, decoded);
        Assert.Equal(Context, decoded.Context.ToArray());
        // The largest context allowed round-trips too; a leave-joint change may carry one.
        var largest = ConfChange.Single(ConfChangeType.AddVoter, 1, new byte[ConfChange.MaxContextBytes]);
        Assert.Equal(largest, ConfChange.Decode(largest.Encode()));
        var leave = ConfChange.LeaveJoint with { Context = Context };
        Assert.Equal(leave, ConfChange.Decode(leave.Encode()));
    }

    [Fact]
    public void UpdateNode_RoundTrips_InFormat2_WithOrWithoutContext()
    {
        var bare = ConfChange.Single(ConfChangeType.UpdateNode, 3);
        var bytes = bare.Encode();
        Assert.Equal(new byte[] { 2, 0, 1, 0, 5, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, bytes);
        Assert.Equal(bare, ConfChange.Decode(bytes));
        var withContext = ConfChange.Single(ConfChangeType.UpdateNode, 3, Context);
        Assert.Equal(withContext, ConfChange.Decode(withContext.Encode()));
        Assert.False(withContext.EntersJoint); // one change, Auto: a simple step
    }

    [Fact]
    public void EqualityAndToString_IncludeTheContext()
    {
        var a = ConfChange.Single(ConfChangeType.AddVoter, 4, Context);
        var b = ConfChange.Single(ConfChangeType.AddVoter, 4, Context.ToArray());
        var other = ConfChange.Single(ConfChangeType.AddVoter, 4, "x"u8.ToArray());
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, other);
        Assert.NotEqual(a, ConfChange.Single(ConfChangeType.AddVoter, 4));
        Assert.Equal($"add voter 4 (context {Context.Length} bytes)", a.ToString());
        Assert.Equal("add voter 4", ConfChange.Single(ConfChangeType.AddVoter, 4).ToString());
        Assert.Equal("update 4", ConfChange.Single(ConfChangeType.UpdateNode, 4).ToString());
    }

    [Fact]
    public void Encode_RefusesTooLongAContext()
    {
        var change = ConfChange.Single(ConfChangeType.AddVoter, 4, new byte[ConfChange.MaxContextBytes + 1]);
        var e = Assert.Throws<ArgumentException>(() => change.Encode());
        Assert.Contains("context", e.Message);
        Assert.False(change.TryApply(new ConfState([1]), out _, out var why));
        Assert.Contains("context", why);
    }

    public static TheoryData<byte[], string> Malformed()
    {
        var valid = ConfChange.Single(ConfChangeType.AddVoter, 4, "abc"u8.ToArray()).Encode(); // 4 + 9 + 4 + 3 bytes
        byte[] With(byte[] bytes, int at, params byte[] values)
        {
            var copy = bytes.ToArray();
            values.CopyTo(copy, at);
            return copy;
        }
        return new TheoryData<byte[], string>
        {
            { [3, 0, 0, 0], "format 3" },
            { [0, 0, 0, 0], "format 0" },
            { [1, 0, 1, 0, 5, 3, 0, 0, 0, 0, 0, 0, 0], "predates" },                       // UpdateNode in format 1
            { [1, 0, 0, 0, 0], "got 5" },                                                   // format 1 with trailing bytes
            { [2, 0, 0, 0], "at least 8" },                                                 // format 2 without a context length
            { [2, 0, 1, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 3, 0], "at least 17" },             // truncated context length
            { valid[..^1], "got 19" },                                                      // context shorter than its length
            { [.. valid, 0], "got 21" },                                                    // trailing bytes after the context
            { With(valid, 13, 0x01, 0x00, 0x01, 0x00), "more than 65536" },                 // context length beyond the limit
            { With(valid, 13, 0xff, 0xff, 0xff, 0xff), "more than 65536" },                 // and one that would overflow
            { [2, 0, 1, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "format 1 is written" }, // format 2 that format 1 could say
            { With(valid, 1, 9), "undefined transition" },
            { With(valid, 4, 6), "undefined change type 6" },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Decode_RefusesInconsistentBytes_SayingWhatIsWrong(byte[] bytes, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ConfChange.Decode(bytes));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void UpdateNode_OfAMember_ChangesNothing_OfANonMember_IsRefusedWithTheReason()
    {
        var conf = new ConfState([1, 2, 3], [4], [], autoLeave: false);
        Assert.True(ConfChange.Single(ConfChangeType.UpdateNode, 2).TryApply(conf, out var next, out _));
        Assert.Equal(conf, next);
        Assert.True(ConfChange.Single(ConfChangeType.UpdateNode, 4).TryApply(conf, out next, out _)); // a learner is a member
        Assert.Equal(conf, next);
        Assert.False(ConfChange.Single(ConfChangeType.UpdateNode, 9).TryApply(conf, out _, out var why));
        Assert.Contains("node 9 is not a member", why);
        Assert.False(ConfChange.Single(ConfChangeType.UpdateNode, 1).TryApply(ConfState.Empty, out _, out _));
    }

    /// <summary>Thesis chapter 4: an update goes through the log like any change, and on applying it nothing moves.</summary>
    [Fact]
    public void UpdateNode_Applied_KeepsLeadershipProgressAndConfiguration()
    {
        var cluster = new Cluster(3, seed: 201);
        var leader = cluster.WaitForLeader();
        cluster.Propose("before");
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("before"), 50, "a write");
        var conf = leader.Raft!.Membership;
        var term = leader.Raft.Term;
        var progressIds = leader.Raft.GetStatus().Progress.Select(p => p.Id).ToArray();
        var follower = cluster.Nodes.First(n => n.Id != leader.Id).Id;
        var result = cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.UpdateNode, follower, Context), leader);
        Assert.Equal(ProposeStatus.Accepted, result.Status);
        Assert.Null(result.Reason);
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.AppliedIndex >= result.FirstIndex), 50, "the update applied everywhere");
        Assert.All(cluster.Nodes, n => Assert.Equal(conf, n.Raft!.Membership));
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        Assert.Equal(term, leader.Raft.Term);
        Assert.Equal(progressIds, leader.Raft.GetStatus().Progress.Select(p => p.Id));
        // The entry carried the context to every node's log.
        Assert.All(cluster.Nodes, n =>
        {
            var entries = new List<Entry>();
            n.Storage.GetEntries(result.FirstIndex, result.FirstIndex + 1, long.MaxValue, entries);
            Assert.Equal(Context, ConfChange.Decode(entries.Single().Data.Span).Context.ToArray());
        });
        cluster.Propose("after");
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("after"), 50, "a write after the update");
    }

    [Fact]
    public void UpdateNode_IsOneChangeInFlight_LikeAnyOther()
    {
        var cluster = new Cluster(3, seed: 202, spares: 1);
        var leader = cluster.WaitForLeader();
        var first = cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.UpdateNode, leader.Id), leader);
        Assert.True(first.IsAccepted);
        var second = cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.AddLearner, 4), leader);
        Assert.Equal(ProposeStatus.ConfChangePending, second.Status);
        Assert.Contains($"index {first.FirstIndex} is not applied yet", second.Reason);
        cluster.MustRunUntil(() => leader.AppliedIndex >= first.FirstIndex, 50, "the update applied");
        var added = cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.AddLearner, 4), leader);
        Assert.True(added.IsAccepted);
        Assert.Equal(ProposeStatus.ConfChangePending, cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.UpdateNode, 2), leader).Status);
    }

    [Fact]
    public void ARefusedChange_CarriesTheCoresReason()
    {
        var cluster = new Cluster(3, seed: 203);
        var leader = cluster.WaitForLeader();
        cluster.RunTicks(5); // the no-op applied: changes may be proposed
        var cases = new (ConfChange Change, string Reason)[]
        {
            (ConfChange.Single(ConfChangeType.AddVoter, leader.Id), $"node {leader.Id} is already a voter"),
            (ConfChange.Single(ConfChangeType.UpdateNode, 9), "node 9 is not a member"),
            (ConfChange.Single(ConfChangeType.PromoteLearner, 4), "node 4 is not a learner"),
            (ConfChange.LeaveJoint, "not joint"),
            (ConfChange.Single(ConfChangeType.AddLearner, 4, new byte[ConfChange.MaxContextBytes + 1]), "more than 65536"),
        };
        foreach (var (change, reason) in cases)
        {
            var result = leader.Raft!.ProposeConfChange(change);
            Assert.Equal(ProposeStatus.ConfChangeRefused, result.Status);
            Assert.Contains(reason, result.Reason);
        }
        Assert.Null(leader.Raft!.Propose("x"u8.ToArray()).Reason);
    }
}
