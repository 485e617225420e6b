using Google.Protobuf;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.Auth.AuthTestCommands;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests.Auth;

/// <summary>
/// The auth record is replicated state: kept with the applied index through a restart (disk), a snapshot restore
/// (memory) and a snapshot install (disk), covered by Hash (not by HashKV, as etcd's HashKV covers keys only), and
/// identical on two members applying the same log.
/// </summary>
public sealed class AuthPersistenceTests
{
    private static byte[] Record(KvStore store) => store.Auth.Record.ToByteArray();

    [Fact]
    public void AuthSurvivesARestartOnDisk()
    {
        using var s = OnDisk();
        SetUpRootAndAlice(s);
        var before = Record(s.Store);
        s.Reopen();
        Assert.Equal(before, Record(s.Store));
        Assert.True(s.Store.Auth.Enabled);
        Assert.Equal(KvError.PermissionDenied, s.Apply(new KvCommand { Put = new PutRequest { Key = B("x"), Value = B("v") } }.As("alice", s.Store)).Error);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void AuthTravelsInSnapshots(string engine)
    {
        using var leader = Of(engine);
        leader.Put("k", "v");
        SetUpRootAndAlice(leader);
        using var follower = Of(engine);
        using var buffer = new MemoryStream();
        leader.Store.WriteSnapshot(buffer);
        buffer.Position = 0;
        if (follower.IsOnDisk)
        {
            follower.Store.ReceiveSnapshot(buffer, CancellationToken.None);
        }
        else
        {
            follower.Store.ReplaceWith(buffer);
        }

        Assert.Equal(Record(leader.Store), Record(follower.Store));
        Assert.Equal(leader.Store.Hash().Hash, follower.Store.Hash().Hash);
        Assert.Equal(leader.Store.HashKV(0).Hash, follower.Store.HashKV(0).Hash);
    }

    [Fact]
    public void AMemorySnapshotOfFormat4RestoresWithAuthNeverConfigured()
    {
        using var s = new TestStore();
        s.Put("k", "v");
        using var buffer = new MemoryStream();
        s.Store.WriteSnapshotInFormat(buffer, 4);
        buffer.Position = 0;
        using var restored = KvStore.Restore(buffer);
        Assert.False(restored.Auth.Enabled);
        Assert.Empty(restored.Auth.UserNames);
        Assert.Equal("v", restored.Range(new RangeRequest { Key = B("k") }).Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public void HashCoversTheAuthRecordAndHashKVDoesNot()
    {
        using var a = new TestStore();
        using var b = new TestStore();
        a.Put("k", "v");
        b.Put("k", "v");
        Ok(a.Apply(RoleAdd("r")));
        Ok(b.Apply(RoleAdd("s")));
        Assert.Equal(a.Store.HashKV(0).Hash, b.Store.HashKV(0).Hash);
        Assert.NotEqual(a.Store.Hash().Hash, b.Store.Hash().Hash);
    }

    [Fact]
    public void MemoryAndDiskMembersReachTheSameAuthState()
    {
        using var memory = new TestStore();
        using var disk = OnDisk();
        foreach (var s in new[] { memory, disk })
        {
            s.Put("k", "v");
            SetUpRootAndAlice(s);
            s.Apply(new KvCommand { Put = new PutRequest { Key = B("app/1"), Value = B("v") } }.As("alice", s.Store));
        }

        Assert.Equal(Record(memory.Store), Record(disk.Store));
        Assert.Equal(memory.Store.HashKV(0).Hash, disk.Store.HashKV(0).Hash);
        Assert.Equal(memory.Store.Hash().Hash, disk.Store.Hash().Hash);
    }
}
