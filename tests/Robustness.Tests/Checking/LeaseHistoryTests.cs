using RaftKv.Robustness.Checking;

namespace RaftKv.Robustness.Tests.Checking;

/// <summary>
/// Leases in etcd's model (issue 16's put with lease and lease revoke): a revoke deletes the key whose present value
/// was put with the lease, at a revision of its own, and leaves a key overwritten since then alone (etcd: a put
/// without a lease detaches the key from its old one).
/// </summary>
public sealed class LeaseHistoryTests
{
    private static KvCheckReport Check(H h) => KvHistoryChecker.Check(h.Operations);

    [Fact]
    public void ARevoke_DeletesTheKeyItsLeaseHolds() => Assert.True(Check(new H()
        .PutWithLease(1, 0, 1, "a", "1", lease: 7, revision: 2)
        .Revoke(1, 2, 3, "a", lease: 7, revision: 3)
        .Get(1, 4, 5, "a", null, modRevision: 0, revision: 3)).Passed);

    [Fact]
    public void AKeyStillThereAfterItsLeaseWasRevoked_IsCaught() => Assert.Equal(Verdict.Illegal, Check(new H()
        .PutWithLease(1, 0, 1, "a", "1", lease: 7, revision: 2)
        .Revoke(1, 2, 3, "a", lease: 7, revision: 3)
        .Get(1, 4, 5, "a", "1", modRevision: 2, revision: 3)).Linearizable);

    [Fact]
    public void ARevokeAfterAPutWithoutTheLease_LeavesTheKey() => Assert.True(Check(new H()
        .PutWithLease(1, 0, 1, "a", "1", lease: 7, revision: 2)
        .Put(1, 2, 3, "a", "2", revision: 3)
        .Revoke(1, 4, 5, "a", lease: 7, revision: 3)
        .Get(1, 6, 7, "a", "2", modRevision: 3, revision: 3)).Passed);

    [Fact]
    public void ARevokeThatDeleted_AtNoRevisionOfItsOwn_IsCaught() => Assert.Equal(Verdict.Illegal, Check(new H()
        .PutWithLease(1, 0, 1, "a", "1", lease: 7, revision: 2)
        .Revoke(1, 2, 3, "a", lease: 7, revision: 2)
        .Get(1, 4, 5, "a", null, modRevision: 0, revision: 2)).Linearizable);

    [Theory]
    [InlineData(null, 0L, 3L)]
    [InlineData("1", 2L, 2L)]
    public void ARevokeWhoseAnswerWasLost_MayOrMayNotHaveDeleted(string? value, long modRevision, long revision) => Assert.True(Check(new H()
        .PutWithLease(1, 0, 1, "a", "1", lease: 7, revision: 2)
        .RevokeUnknown(1, 2, "a", lease: 7)
        .Get(2, 4, 5, "a", value, modRevision, revision)).Passed);
}
