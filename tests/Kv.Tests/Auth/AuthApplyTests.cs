using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Authpb;
using static RaftKv.Kv.Tests.Auth.AuthTestCommands;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests.Auth;

/// <summary>
/// etcd 3.4's auth store rules as applied from the log (Auth.AuthApplier): root user and role, enable and disable,
/// users, roles and permissions, and which changes move the auth revision.
/// </summary>
public sealed class AuthApplyTests
{
    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void EnableNeedsARootUserWithTheRootRole(string engine)
    {
        using var s = Of(engine);
        Assert.Equal(KvError.RootUserNotExist, s.Apply(Enable()).Error);
        Ok(s.Apply(UserAdd("root")));
        Assert.Equal(KvError.RootRoleNotExist, s.Apply(Enable()).Error);
        Ok(s.Apply(Grant("root", "root"))); // the root role need not exist to be granted
        var revision = s.Store.Auth.Revision;
        Ok(s.Apply(Enable()));
        Assert.True(s.Store.Auth.Enabled);
        Assert.Equal(revision, s.Store.Auth.Revision); // enabling does not move the revision (etcd)
        Ok(s.Apply(Enable())); // again: nothing happens
        Ok(s.Apply(Disable().As("root", s.Store)));
        Assert.False(s.Store.Auth.Enabled);
        Assert.Equal(revision + 1, s.Store.Auth.Revision); // disabling does
    }

    [Fact]
    public void UsersAndRolesKeepEtcdsErrors()
    {
        using var s = new TestStore();
        Assert.Equal(KvError.UserEmpty, s.Apply(UserAdd("")).Error);
        Ok(s.Apply(UserAdd("bob")));
        Assert.Equal(KvError.UserAlreadyExist, s.Apply(UserAdd("bob")).Error);
        Assert.Equal(KvError.RoleNotFound, s.Apply(Grant("bob", "nope")).Error);
        Assert.Equal(KvError.UserNotFound, s.Apply(Grant("carol", "root")).Error);
        Assert.Equal(KvError.RoleEmpty, s.Apply(RoleAdd("")).Error);
        Ok(s.Apply(RoleAdd("r")));
        Assert.Equal(KvError.RoleAlreadyExist, s.Apply(RoleAdd("r")).Error);
        Ok(s.Apply(Grant("bob", "r")));
        var revision = s.Store.Auth.Revision;
        Ok(s.Apply(Grant("bob", "r"))); // a second grant is ignored, as etcd does
        Assert.Equal(revision, s.Store.Auth.Revision);
        Assert.Equal(KvError.RoleNotGranted, s.Apply(new KvCommand { UserRevokeRole = new AuthUserRevokeRoleRequest { Name = "bob", Role = "x" } }).Error);
        Assert.Equal(KvError.PermissionNotGranted, s.Apply(new KvCommand
        {
            RoleRevokePermission = new AuthRoleRevokePermissionRequest { Role = "r", Key = B("k") },
        }).Error);
        Ok(s.Apply(new KvCommand { RoleDelete = new AuthRoleDeleteRequest { Role = "r" } }));
        Assert.Empty(s.Store.Auth.FindUser("bob")!.Roles); // deleting a role takes it from its users
        Assert.Equal(KvError.UserNotFound, s.Apply(new KvCommand { UserDelete = new AuthUserDeleteRequest { Name = "carol" } }).Error);
    }

    [Fact]
    public void RootCannotBeTakenAwayWhileAuthIsOn()
    {
        using var s = new TestStore();
        SetUpRootAndAlice(s);
        Assert.Equal(KvError.InvalidAuthMgmt, s.Apply(new KvCommand { UserDelete = new AuthUserDeleteRequest { Name = "root" } }.As("root", s.Store)).Error);
        Assert.Equal(KvError.InvalidAuthMgmt, s.Apply(new KvCommand { RoleDelete = new AuthRoleDeleteRequest { Role = "root" } }.As("root", s.Store)).Error);
        Assert.Equal(KvError.InvalidAuthMgmt, s.Apply(new KvCommand
        {
            UserRevokeRole = new AuthUserRevokeRoleRequest { Name = "root", Role = "root" },
        }.As("root", s.Store)).Error);
    }

    [Fact]
    public void AGrantOfTheSameRangeReplacesItsTypeAndPermissionsStayInKeyOrder()
    {
        using var s = new TestStore();
        Ok(s.Apply(RoleAdd("r")));
        Ok(s.Apply(Permit("r", Permission.Types.Type.Read, "m")));
        Ok(s.Apply(Permit("r", Permission.Types.Type.Read, "a", "c")));
        Ok(s.Apply(Permit("r", Permission.Types.Type.Write, "m")));
        var perms = s.Store.Auth.FindRole("r")!.KeyPermission;
        Assert.Equal(["a", "m"], perms.Select(p => p.Key.ToStringUtf8()));
        Assert.Equal(Permission.Types.Type.Write, perms[1].PermType);
    }

    [Fact]
    public void AuthManagementNeedsRootOnceAuthIsOn()
    {
        using var s = new TestStore();
        SetUpRootAndAlice(s);
        Assert.Equal(KvError.PermissionDenied, s.Apply(UserAdd("mallory").As("alice", s.Store)).Error);
        Assert.Equal(KvError.PermissionDenied, s.Apply(Grant("alice", "root").As("alice", s.Store)).Error);
        Assert.Equal(KvError.PermissionDenied, s.Apply(Disable().As("alice", s.Store)).Error);
        Assert.Equal(KvError.UserEmpty, s.Apply(Disable().As("", s.Store)).Error);
        Ok(s.Apply(UserAdd("mallory").As("root", s.Store)));
    }

    [Fact]
    public void ACommandCheckedAtAnOlderAuthRevisionIsRefused()
    {
        using var s = new TestStore();
        SetUpRootAndAlice(s);
        var put = new KvCommand { Put = new PutRequest { Key = B("app/x"), Value = B("v") } }.As("alice", s.Store);
        // The permission is revoked between the proposer's check and the apply.
        Ok(s.Apply(new KvCommand { RoleRevokePermission = new AuthRoleRevokePermissionRequest { Role = "app", Key = B("app/"), RangeEnd = B("app0") } }.As("root", s.Store)));
        Assert.Equal(KvError.AuthOldRevision, s.Apply(put).Error);
        Assert.Equal(0, s.Get("app/x").Count);
    }

    [Fact]
    public void AuthenticateNeedsAuthOnAndAnExistingUser()
    {
        using var s = new TestStore();
        var authenticate = new KvCommand { Authenticate = new AuthenticateCommand { Name = "root", Token = "t.1" } };
        Assert.Equal(KvError.AuthNotEnabled, s.Apply(authenticate).Error);
        SetUpRootAndAlice(s);
        Assert.Equal("t.1", Assert.IsType<AuthenticateResponse>(Ok(s.Apply(authenticate)).Response).Token);
        Assert.Equal(KvError.AuthFailed, s.Apply(new KvCommand { Authenticate = new AuthenticateCommand { Name = "nobody", Token = "t.2" } }).Error);
    }
}
