using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Authpb;

namespace RaftKv.Kv.Tests.Auth;

/// <summary>
/// Apply is total on auth commands: seeded random sequences of auth, key-value and lease commands, with random
/// identities and revisions, never throw, and a memory and a disk store applying the same sequence end with the
/// same auth record, the same results and the same hash.
/// </summary>
public sealed class AuthTotalityTests
{
    private static readonly string[] Names = ["root", "alice", "bob", ""];
    private static readonly string[] Keys = ["", "a", "b", "app/", "app0", "\0"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomAuthCommandsNeverThrowAndAgreeAcrossEngines(int seed)
    {
        var random = new Random(seed);
        using var memory = new TestStore();
        using var disk = TestStore.OnDisk();
        for (var i = 0; i < 400; i++)
        {
            var command = RandomCommand(random, memory.Store.Auth.Revision);
            var a = memory.Apply(command.Clone());
            var b = disk.Apply(command.Clone());
            Assert.Equal(a.Error, b.Error);
            Assert.Equal(a.Response?.ToByteString(), b.Response?.ToByteString());
        }

        Assert.Equal(memory.Store.Auth.Record, disk.Store.Auth.Record);
        Assert.Equal(memory.Store.Hash().Hash, disk.Store.Hash().Hash);
    }

    private static string Pick(Random random, string[] from) => from[random.Next(from.Length)];

    private static ByteString Key(Random random) => ByteString.CopyFromUtf8(Pick(random, Keys));

    private static KvCommand RandomCommand(Random random, ulong revision)
    {
        var name = Pick(random, Names);
        var role = Pick(random, Names);
        var command = random.Next(16) switch
        {
            0 => new KvCommand { AuthEnable = new AuthEnableRequest() },
            1 => new KvCommand { AuthDisable = new AuthDisableRequest() },
            2 => new KvCommand { Authenticate = new AuthenticateCommand { Name = name, Token = random.Next(2) == 0 ? "" : "t" } },
            3 => new KvCommand { UserAdd = new AuthUserAddRequest { Name = name, HashedPassword = "h", Options = random.Next(2) == 0 ? null : new UserAddOptions() } },
            4 => new KvCommand { UserDelete = new AuthUserDeleteRequest { Name = name } },
            5 => new KvCommand { UserChangePassword = new AuthUserChangePasswordRequest { Name = name, HashedPassword = "h2" } },
            6 => new KvCommand { UserGrantRole = new AuthUserGrantRoleRequest { User = name, Role = role } },
            7 => new KvCommand { UserRevokeRole = new AuthUserRevokeRoleRequest { Name = name, Role = role } },
            8 => new KvCommand { RoleAdd = new AuthRoleAddRequest { Name = role } },
            9 => new KvCommand { RoleDelete = new AuthRoleDeleteRequest { Role = role } },
            10 => new KvCommand
            {
                RoleGrantPermission = new AuthRoleGrantPermissionRequest
                {
                    Name = role,
                    Perm = random.Next(5) == 0 ? null : new Permission { PermType = (Permission.Types.Type)random.Next(4), Key = Key(random), RangeEnd = Key(random) },
                },
            },
            11 => new KvCommand { RoleRevokePermission = new AuthRoleRevokePermissionRequest { Role = role, Key = Key(random), RangeEnd = Key(random) } },
            12 => new KvCommand { Put = new PutRequest { Key = Key(random), Value = ByteString.CopyFromUtf8("v"), PrevKv = random.Next(2) == 0 } },
            13 => new KvCommand { DeleteRange = new DeleteRangeRequest { Key = Key(random), RangeEnd = Key(random), PrevKv = random.Next(2) == 0 } },
            14 => new KvCommand
            {
                Txn = new TxnRequest
                {
                    Success = { new RequestOp { RequestTxn = new TxnRequest { Success = { new RequestOp { RequestRange = new RangeRequest { Key = Key(random) } } } } } },
                },
            },
            _ => new KvCommand { LeaseRevoke = new LeaseRevokeRequest { ID = random.Next(3) } },
        };
        if (random.Next(3) != 0)
        {
            command.Auth = new CommandAuth { User = Pick(random, Names), Revision = revision - (ulong)Math.Min((long)revision, random.Next(2)) };
        }

        return command;
    }
}
