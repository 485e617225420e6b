using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv.Leases;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests.Leases;

/// <summary>
/// The replicated lease table as etcd's lessor keeps it (etcd 3.4, lease/lessor.go and the v3 API reference): grant,
/// revoke deleting the attached keys in one revision, keys attached by a put with a lease and detached by a put
/// without one or by a delete, and etcd's errors. Every test runs on both engines.
/// </summary>
public sealed class LeaseTests
{
    public static TheoryData<string> Engines() => ["memory", "disk"];

    [Theory]
    [MemberData(nameof(Engines))]
    public void GrantStoresTheLeaseWithItsTtl(string engine)
    {
        using var s = Of(engine);
        var grant = Ok(s.TryGrant(7, 30)).Response as LeaseGrantResponse;
        Assert.Equal((7L, 30L), (grant!.ID, grant.TTL));
        Assert.Equal(new LeaseInfo(7, 30), s.Store.FindLease(7));
        Assert.Equal(1, s.Store.LeaseCount);
        Assert.Equal(1, s.Store.Revision); // a grant writes no key, so no revision, as in etcd
        s.Store.CheckInvariants();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void GrantRefusesWhatEtcdRefuses(string engine)
    {
        using var s = Of(engine);
        s.Grant(7);
        Assert.Equal(KvError.LeaseExists, s.TryGrant(7).Error);
        Assert.Equal("etcdserver: lease already exists", KvError.LeaseExists.Message);
        Assert.Equal(KvError.LeaseTtlTooLarge, s.TryGrant(8, LeaseLimits.MaxTtlSeconds + 1).Error);
        Assert.Equal("etcdserver: too large lease TTL", KvError.LeaseTtlTooLarge.Message);
        Assert.Equal(KvError.LeaseNotFound, s.TryGrant(0).Error); // the proposer picks an id; 0 in the log is refused
        Ok(s.TryGrant(9, LeaseLimits.MaxTtlSeconds)); // the maximum itself is allowed
        Assert.Equal(2, s.Store.LeaseCount);
        Assert.Equal(60, s.Store.FindLease(7)!.GrantedTtlSeconds); // unchanged by the refused duplicate
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void ATtlAtOrBelowZeroIsRaisedToTheFloor(string engine)
    {
        // The proposer raises a short TTL to etcd's minLeaseTTL; an entry that skipped it still gets a usable lease.
        using var s = Of(engine);
        var zero = Ok(s.TryGrant(1, 0)).Response as LeaseGrantResponse;
        var negative = Ok(s.TryGrant(2, -50)).Response as LeaseGrantResponse;
        Assert.Equal(LeaseLimits.FloorTtlSeconds, zero!.TTL);
        Assert.Equal(LeaseLimits.FloorTtlSeconds, negative!.TTL);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void APutWithAnUnknownLeaseIsRefused(string engine)
    {
        using var s = Of(engine);
        var refused = s.TryPut(new PutRequest { Key = B("a"), Value = B("1"), Lease = 42 });
        Assert.Equal(KvError.LeaseNotFound, refused.Error);
        Assert.Equal("etcdserver: requested lease not found", refused.Error!.Message);
        Assert.Null(s.Value("a"));

        // In a txn the whole txn is refused, its other operations too.
        var txn = s.TryTxn(new TxnRequest { Success = { PutOp("b", "1"), new RequestOp { RequestPut = new PutRequest { Key = B("c"), Lease = 42 } } } });
        Assert.Equal(KvError.LeaseNotFound, txn.Error);
        Assert.Null(s.Value("b"));
        Assert.Equal(1, s.Store.Revision);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void RevokeDeletesEveryAttachedKeyInOneRevisionWithDeleteEvents(string engine)
    {
        using var s = Of(engine);
        s.Grant(5, 6);
        s.Put("a", "1", lease: 5);
        s.Put("b", "2", lease: 5);
        s.Put("c", "3", lease: 6);
        s.Put("d", "4");
        Assert.Equal(5, s.Get("a").Kvs[0].Lease);
        Assert.Equal([B("a"), B("b")], s.Store.LeaseKeys(5, 10));

        var revoked = Ok(s.TryRevoke(5));
        Assert.Equal(6, ((LeaseRevokeResponse)revoked.Response!).Header.Revision);
        Assert.Equal(6, s.Store.Revision);
        Assert.Equal([(Event.Types.EventType.Delete, "a", 6L), (Event.Types.EventType.Delete, "b", 6L)],
            revoked.Events.Select(e => (e.Type, e.Kv.Key.ToStringUtf8(), e.Kv.ModRevision)));
        Assert.Equal(5, revoked.Events[0].PrevKv.Lease);
        Assert.Null(s.Value("a"));
        Assert.Null(s.Value("b"));
        Assert.Equal("3", s.Value("c"));
        Assert.Equal("4", s.Value("d"));
        Assert.Null(s.Store.FindLease(5));
        Assert.Equal(1, s.Store.LeaseCount);

        // Watchers reading the history find the same deletes.
        var page = s.Store.ReadEvents(6, 10);
        Assert.Equal(["a", "b"], page.Events.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.All(page.Events, e => Assert.Equal(Event.Types.EventType.Delete, e.Type));
        s.Store.CheckInvariants();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void RevokeOfAnUnknownLeaseIsNotFoundAndAnEmptyLeaseMovesNoRevision(string engine)
    {
        using var s = Of(engine);
        Assert.Equal(KvError.LeaseNotFound, s.TryRevoke(99).Error);
        s.Grant(3);
        s.Put("x", "1");
        var revoked = Ok(s.TryRevoke(3));
        Assert.Equal(2, s.Store.Revision);
        Assert.Empty(revoked.Events);
        Assert.Equal(KvError.LeaseNotFound, s.TryRevoke(3).Error);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void PutsAndDeletesMoveKeysBetweenLeases(string engine)
    {
        using var s = Of(engine);
        s.Grant(1, 2);
        s.Put("a", "1", lease: 1);
        s.Put("b", "1", lease: 1);
        s.Put("c", "1", lease: 1);
        s.Put("a", "2", lease: 2);        // moved
        s.Put("b", "2");                   // lease 0 detaches
        s.Delete("c");                     // a delete detaches
        Ok(s.TryPut(new PutRequest { Key = B("a"), Value = B("3"), IgnoreLease = true })); // stays on lease 2
        Assert.Empty(s.Store.LeaseKeys(1, 10));
        Assert.Equal([B("a")], s.Store.LeaseKeys(2, 10));
        Assert.Equal(2, s.Get("a").Kvs[0].Lease);
        Assert.Equal(0, s.Get("b").Kvs[0].Lease);

        // Revoking the old lease touches none of the keys it once had.
        var revision = s.Store.Revision;
        Ok(s.TryRevoke(1));
        Assert.Equal(revision, s.Store.Revision);
        Assert.Equal("3", s.Value("a"));
        Assert.Equal("2", s.Value("b"));
        s.Store.CheckInvariants();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void TxnPutsAttachAndTxnDeletesDetach(string engine)
    {
        using var s = Of(engine);
        s.Grant(4);
        s.Put("gone", "1", lease: 4);
        s.Txn(new TxnRequest
        {
            Success =
            {
                new RequestOp { RequestPut = new PutRequest { Key = B("t1"), Value = B("v"), Lease = 4 } },
                TxnOp(new TxnRequest { Success = { new RequestOp { RequestPut = new PutRequest { Key = B("t2"), Value = B("v"), Lease = 4 } } } }),
                DeleteOp("gone"),
            },
        });
        Assert.Equal([B("t1"), B("t2")], s.Store.LeaseKeys(4, 10));
        var revoked = Ok(s.TryRevoke(4));
        Assert.Equal(2, revoked.Events.Count);
        Assert.Empty(s.Prefix("t").Kvs);
        s.Store.CheckInvariants();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void LeasesSurviveASnapshotRestore(string engine)
    {
        using var s = Of(engine);
        s.Grant(10, 11, -12);
        s.Put("a", "1", lease: 10);
        s.Put("b", "1", lease: -12);
        s.SnapshotAndRestore();
        Assert.Equal([new LeaseInfo(-12, 60), new LeaseInfo(10, 60), new LeaseInfo(11, 60)], s.Store.Leases(10));
        Assert.Equal([B("a")], s.Store.LeaseKeys(10, 10));
        Assert.Equal([B("b")], s.Store.LeaseKeys(-12, 10));
        s.Store.CheckInvariants();
        var revoked = Ok(s.TryRevoke(10));
        Assert.Single(revoked.Events);
        Assert.Null(s.Value("a"));
    }

    [Fact]
    public void LeasesSurviveADiskReopen()
    {
        using var s = OnDisk();
        s.Grant(1, 2);
        s.Put("a", "1", lease: 1);
        s.Put("b", "1", lease: 2);
        Ok(s.TryRevoke(2));
        s.Reopen();
        Assert.Equal([new LeaseInfo(1, 60)], s.Store.Leases(10));
        Assert.Equal(1, s.Store.LeaseCount);
        Assert.Equal([B("a")], s.Store.LeaseKeys(1, 10));
        Assert.Null(s.Value("b"));
        s.Store.CheckInvariants();
    }

    [Fact]
    public void ADiskSnapshotStreamCarriesLeasesToAnotherMember()
    {
        using var leader = OnDisk();
        using var follower = OnDisk();
        leader.Grant(8);
        leader.Put("k", "v", lease: 8);
        using var stream = new MemoryStream();
        leader.Store.WriteSnapshot(stream);
        stream.Position = 0;
        follower.Store.ReceiveSnapshot(stream, CancellationToken.None);
        Assert.Equal([new LeaseInfo(8, 60)], follower.Store.Leases(10));
        Assert.Equal([B("k")], follower.Store.LeaseKeys(8, 10));
        follower.Store.CheckInvariants();
    }

    [Fact]
    public void AMemorySnapshotRestoresIntoAFreshStore()
    {
        using var s = new TestStore();
        s.Grant(3);
        s.Put("k", "v", lease: 3);
        using var buffer = new MemoryStream();
        s.Store.WriteSnapshot(buffer);
        var snapshot = s.Store.CaptureSnapshot();
        Assert.Equal(buffer.Length, snapshot.EstimatedBytes);
        buffer.Position = 0;
        using var restored = KvStore.Restore(buffer);
        Assert.Equal([new LeaseInfo(3, 60)], restored.Leases(10));
        Assert.Equal([B("k")], restored.LeaseKeys(3, 10));
        restored.CheckInvariants();
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void KeepAliveAndTimeToLiveInTheLogAreRefusedAndChangeNothing(string engine)
    {
        using var s = Of(engine);
        s.Grant(1);
        Assert.Equal(KvError.NotALogCommand, s.Apply(new KvCommand { LeaseKeepAlive = new LeaseKeepAliveRequest { ID = 1 } }).Error);
        Assert.Equal(KvError.NotALogCommand, s.Apply(new KvCommand { LeaseTimeToLive = new LeaseTimeToLiveRequest { ID = 1 } }).Error);
        Assert.Equal([new LeaseInfo(1, 60)], s.Store.Leases(10));
    }

    [Fact]
    public void HashKvLeavesLeasesOutAsEtcdDoes()
    {
        // etcd's HashKV hashes the key bucket only; two members differing only in leases (impossible, but a change
        // of what is hashed would be) hash the same.
        using var a = new TestStore();
        using var b = new TestStore();
        a.Grant(1);
        b.Grant(2);
        a.Put("k", "v");
        b.Put("k", "v");
        Assert.Equal(a.Store.HashKV(0).Hash, b.Store.HashKV(0).Hash);
    }
}
