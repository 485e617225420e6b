using RaftKv.Server;

namespace RaftKv.Tests.Server;

/// <summary>identity.json: the file every start checks, in the format earlier versions wrote.</summary>
public sealed class DataDirectoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("raftkv-identity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AFileWrittenByEarlierVersions_ReadsBack()
    {
        Directory.CreateDirectory(DataDirectory.MemberPath(_dir));
        // As the reflection-based serializer wrote it (indented, numbers as numbers); Joined is absent in the oldest.
        File.WriteAllText(DataDirectory.IdentityPath(_dir), """
            {
              "Name": "a",
              "MemberId": 18446744073709551615,
              "ClusterId": 12,
              "InitialCluster": "a=http://127.0.0.1:2380"
            }
            """);
        Assert.Equal(new MemberIdentity("a", ulong.MaxValue, 12, "a=http://127.0.0.1:2380"), DataDirectory.ReadIdentity(_dir));
    }

    [Fact]
    public void WriteThenRead_RoundTrips()
    {
        var identity = new MemberIdentity("b", 1, 2, "b=http://127.0.0.1:1", Joined: true);
        Directory.CreateDirectory(DataDirectory.MemberPath(_dir)); // the Raft log's storage creates it first
        DataDirectory.WriteIdentity(_dir, identity);
        Assert.Equal(identity, DataDirectory.ReadIdentity(_dir));
        Assert.Contains("\"Joined\": true", File.ReadAllText(DataDirectory.IdentityPath(_dir)), StringComparison.Ordinal);
    }

    [Fact]
    public void AStringWhereANumberBelongs_IsAnInvalidIdentity()
    {
        Directory.CreateDirectory(DataDirectory.MemberPath(_dir));
        File.WriteAllText(DataDirectory.IdentityPath(_dir), """{"Name":"a","MemberId":"1","ClusterId":2,"InitialCluster":"x"}""");
        var e = Assert.Throws<InvalidDataException>(() => DataDirectory.ReadIdentity(_dir));
        Assert.Contains("identity.json is not a valid identity file", e.Message, StringComparison.Ordinal);
    }
}
