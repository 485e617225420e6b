using Google.Protobuf;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.Auth.AuthTestCommands;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests.Auth;

/// <summary>
/// The 2026 etcd advisories' bypass classes, checked where they must hold whatever the proposer did: at apply
/// (Auth.AuthChecker). alice may read and write "app/" keys and read "shared" (see <see cref="AuthTestCommands.SetUpRootAndAlice"/>).
/// Each refused command changes nothing.
/// </summary>
public sealed class AuthBypassTests
{
    private static TestStore SetUp(string engine)
    {
        var s = Of(engine);
        s.Put("secret", "s"); // before auth: the server's own command, no identity
        s.Put("shared", "x");
        SetUpRootAndAlice(s);
        return s;
    }

    private static void AssertDenied(TestStore s, KvCommand command, string user = "alice")
    {
        var revision = s.Store.Revision;
        var result = s.Apply(command.As(user, s.Store));
        Assert.Equal(KvError.PermissionDenied, result.Error);
        Assert.Equal(revision, s.Store.Revision);
        Assert.Equal("s", s.Value("secret"));
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void PermittedOperationsApply(string engine)
    {
        using var s = SetUp(engine);
        Ok(s.Apply(new KvCommand { Put = new PutRequest { Key = B("app/a"), Value = B("1"), PrevKv = true } }.As("alice", s.Store)));
        Ok(s.Apply(new KvCommand { Range = new RangeRequest { Key = B("shared") } }.As("alice", s.Store)));
        Ok(s.Apply(new KvCommand { Txn = new TxnRequest { Success = { GetOp("shared"), PutOp("app/b", "2") } } }.As("alice", s.Store)));
        Assert.Equal("2", s.Value("app/b"));
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void PlainOperationsOutsideThePermissionsAreRefused(string engine)
    {
        using var s = SetUp(engine);
        AssertDenied(s, new KvCommand { Put = new PutRequest { Key = B("secret"), Value = B("mine") } });
        AssertDenied(s, new KvCommand { Put = new PutRequest { Key = B("shared"), Value = B("mine") } }); // read only
        AssertDenied(s, new KvCommand { Range = new RangeRequest { Key = B("secret") } });
        AssertDenied(s, new KvCommand { DeleteRange = new DeleteRangeRequest { Key = B("app/"), RangeEnd = B("b") } }); // wider than app/
        Assert.Equal(KvError.UserEmpty, s.Apply(new KvCommand { Put = new PutRequest { Key = B("app/x"), Value = B("v") } }.As("", s.Store)).Error);
        AssertDenied(s, new KvCommand { Put = new PutRequest { Key = B("app/x"), Value = B("v") } }, user: "ghost");
    }

    [Fact]
    public void AnOperationNestedInATxnIsChecked()
    {
        using var s = SetUp("memory");
        var inner = new TxnRequest { Success = { PutOp("secret", "mine") } };
        var middle = new TxnRequest { Success = { PutOp("app/ok", "1"), TxnOp(inner) } };
        AssertDenied(s, new KvCommand { Txn = new TxnRequest { Success = { TxnOp(middle) } } });
        // In the branch that does not run, too (etcd checks both).
        AssertDenied(s, new KvCommand { Txn = new TxnRequest { Failure = { TxnOp(new TxnRequest { Success = { DeleteOp("secret") } }) } } });
        // A read nested deep.
        AssertDenied(s, new KvCommand { Txn = new TxnRequest { Success = { TxnOp(new TxnRequest { Success = { TxnOp(new TxnRequest { Success = { GetOp("secret") } }) } }) } } });
        // A compare reads.
        AssertDenied(s, new KvCommand
        {
            Txn = new TxnRequest { Compare = { new Compare { Key = B("secret"), Target = Compare.Types.CompareTarget.Value, Value = B("s") } }, Success = { PutOp("app/c", "1") } },
        });
    }

    [Fact]
    public void PrevKvNeedsReadPermission()
    {
        using var s = SetUp("memory");
        Ok(s.Apply(RoleAdd("writer").As("root", s.Store)));
        Ok(s.Apply(Permit("writer", Etcd.Api.Authpb.Permission.Types.Type.Write, "secret").As("root", s.Store)));
        Ok(s.Apply(Grant("alice", "writer").As("root", s.Store)));
        // alice may write "secret" but not read it: the old value must not come back through prev_kv.
        AssertDenied(s, new KvCommand { Put = new PutRequest { Key = B("secret"), Value = B("w"), PrevKv = true } });
        AssertDenied(s, new KvCommand { DeleteRange = new DeleteRangeRequest { Key = B("secret"), PrevKv = true } });
        AssertDenied(s, new KvCommand
        {
            Txn = new TxnRequest { Success = { new RequestOp { RequestPut = new PutRequest { Key = B("secret"), Value = B("w"), PrevKv = true } } } },
        });
        AssertDenied(s, new KvCommand
        {
            Txn = new TxnRequest { Success = { new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = B("secret"), PrevKv = true } } } },
        });
        // Without prev_kv the write is allowed.
        Ok(s.Apply(new KvCommand { Put = new PutRequest { Key = B("secret"), Value = B("w") } }.As("alice", s.Store)));
    }

    [Fact]
    public void ALeaseAttachInATxnIsCheckedAndRevokeNeedsWriteOnItsKeys()
    {
        using var s = SetUp("memory");
        Ok(s.Apply(new KvCommand { LeaseGrant = new LeaseGrantRequest { ID = 7, TTL = 60 } }.As("alice", s.Store)));
        // Attaching a key outside alice's permissions to her lease, inside a txn.
        AssertDenied(s, new KvCommand { Txn = new TxnRequest { Success = { new RequestOp { RequestPut = new PutRequest { Key = B("secret"), Value = B("l"), Lease = 7 } } } } });
        // root attaches "secret" to lease 7; alice's revoke would delete it, so it is refused.
        Ok(s.Apply(new KvCommand { Put = new PutRequest { Key = B("secret"), Value = B("s"), Lease = 7 } }.As("root", s.Store)));
        AssertDenied(s, new KvCommand { LeaseRevoke = new LeaseRevokeRequest { ID = 7 } });
        Assert.NotNull(s.Store.FindLease(7));
    }

    [Fact]
    public void CompactionAlarmsAndServerCommandsNeedRoot()
    {
        using var s = SetUp("memory");
        AssertDenied(s, new KvCommand { Compaction = new CompactionRequest { Revision = 2 } });
        AssertDenied(s, new KvCommand { Alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Deactivate, Alarm = AlarmType.Nospace, MemberID = 1 } });
        AssertDenied(s, new KvCommand { LeaseCheckpoint = new LeaseCheckpointRequest() });
        Ok(s.Apply(new KvCommand { Compaction = new CompactionRequest { Revision = 2 } }.As("root", s.Store)));
    }

    [Fact]
    public void AReadOfARangeMustBeCoveredWhole()
    {
        using var s = SetUp("memory");
        var auth = s.Store.Auth;
        Assert.Null(Kv.Auth.AuthChecker.Read(auth, "alice", B("app/"), B("app0")));
        Assert.Null(Kv.Auth.AuthChecker.Read(auth, "alice", B("app/x"), B("app/y")));
        Assert.NotNull(Kv.Auth.AuthChecker.Read(auth, "alice", B("app/"), KeyRanges.FromKeyEnd)); // "from key": unbounded
        Assert.NotNull(Kv.Auth.AuthChecker.Read(auth, "alice", ByteString.CopyFrom(0), KeyRanges.FromKeyEnd)); // everything
        Assert.NotNull(Kv.Auth.AuthChecker.Read(auth, "alice", B("app"), B("app0")));
        Assert.Null(Kv.Auth.AuthChecker.Read(auth, "root", ByteString.CopyFrom(0), KeyRanges.FromKeyEnd));
    }
}
