using System.Text.RegularExpressions;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests.Auth;

/// <summary>
/// The same etcdctl 3.4 user, role and auth commands, and the same permission-denied cases, against a real etcd 3.4
/// (Debian etcd-server) and a single-member raftkv: each step's exit code and output must agree (etcdctl's retry
/// log lines and the endpoint's address aside), except the differences raftkv makes on purpose, each asserted as it is.
/// </summary>
public sealed partial class AuthDifferentialTests(ITestOutputHelper output)
{
    /// <summary>
    /// raftkv's deliberate differences (see Server.Auth.AuthInterceptor): etcd 3.4 answers these without a token, or
    /// for any user, and raftkv refuses them. The step, then raftkv's record; etcd's must be a success.
    /// </summary>
    private static readonly Dictionary<string, string> DeliberateDifferences = new()
    {
        ["member list without a token"] = "rc=1 Error: etcdserver: user name is empty",
        ["lease grant without a token"] = "rc=1 Error: failed to grant lease (etcdserver: user name is empty)",
        ["alarm list as alice"] = "rc=1 Error: etcdserver: permission denied",
        ["compaction as alice"] = "rc=1 Error: etcdserver: permission denied",
    };

    private const string Alice = "--user=alice:alicepw";
    private const string Root = "--user=root:rootpw";

    private static readonly (string Step, string[] Args, string? Stdin)[] Steps =
    [
        ("enable without a root user", ["auth", "enable"], null),
        ("add root", ["user", "add", "root:rootpw"], null),
        // etcdctl 3.4 adds the root role and grants it by itself when the server says root lacks it.
        ("enable without the root role", ["auth", "enable"], null),
        ("enable again, without a token", ["auth", "enable"], null),
        ("put without a token", ["put", "x", "1"], null),
        ("wrong password", ["--user=root:nope", "get", "x"], null),
        ("unknown user", ["--user=nobody:pw", "get", "x"], null),
        ("add alice", [Root, "user", "add", "alice:alicepw"], null),
        ("add alice again", [Root, "user", "add", "alice:other"], null),
        ("add role app", [Root, "role", "add", "app"], null),
        ("add role app again", [Root, "role", "add", "app"], null),
        ("grant readwrite app/ prefix", [Root, "role", "grant-permission", "app", "readwrite", "app/", "--prefix=true"], null),
        ("grant read shared", [Root, "role", "grant-permission", "app", "read", "shared"], null),
        ("grant write k1..k5", [Root, "role", "grant-permission", "app", "write", "k1", "k5"], null),
        ("grant to an unknown role", [Root, "role", "grant-permission", "nosuch", "read", "k"], null),
        ("grant app to alice", [Root, "user", "grant-role", "alice", "app"], null),
        ("grant an unknown role", [Root, "user", "grant-role", "alice", "nosuch"], null),
        ("grant to an unknown user", [Root, "user", "grant-role", "nobody", "app"], null),
        ("role get app", [Root, "role", "get", "app"], null),
        ("user get alice", [Root, "user", "get", "alice"], null),
        ("user get alice --detail", [Root, "user", "get", "alice", "--detail"], null),
        ("user list", [Root, "user", "list"], null),
        ("role list", [Root, "role", "list"], null),
        ("user get as alice herself", [Alice, "user", "get", "alice"], null),
        ("user list as alice", [Alice, "user", "list"], null),
        ("put app/1 as alice", [Alice, "put", "app/1", "v"], null),
        ("get app/1 as alice", [Alice, "get", "app/1"], null),
        ("put secret as alice", [Alice, "put", "secret", "v"], null),
        ("put shared (read only) as alice", [Alice, "put", "shared", "v"], null),
        ("put k3 (write only) as alice", [Alice, "put", "k3", "v"], null),
        ("get k3 (write only) as alice", [Alice, "get", "k3"], null),
        ("delete k3 with prev-kv (write only) as alice", [Alice, "del", "k3", "--prev-kv"], null),
        ("get from key app/ as alice", [Alice, "get", "app/", "--from-key"], null),
        ("get everything as alice", [Alice, "get", "", "--prefix"], null),
        ("txn writing secret as alice", [Alice, "txn"], "value(\"app/1\") = \"v\"\n\nput app/2 v\nput secret v\n\nget app/1\n\n"),
        ("txn comparing secret as alice", [Alice, "txn"], "value(\"secret\") = \"v\"\n\nput app/2 v\n\nget app/1\n\n"),
        ("txn within app/ as alice", [Alice, "txn"], "value(\"app/1\") = \"v\"\n\nput app/2 v\nget app/1\n\nget app/2\n\n"),
        ("watch everything as alice", [Alice, "watch", "", "--prefix"], null),
        ("watch secret as alice", [Alice, "watch", "secret"], null),
        ("user add as alice", [Alice, "user", "add", "mallory:pw"], null),
        ("auth disable as alice", [Alice, "auth", "disable"], null),
        ("hashkv as alice", [Alice, "endpoint", "hashkv"], null),
        ("defrag as alice", [Alice, "defrag"], null),
        ("member list without a token", ["member", "list"], null),
        ("lease grant without a token", ["lease", "grant", "60"], null),
        ("alarm list as alice", [Alice, "alarm", "list"], null),
        ("compaction as alice", [Alice, "compaction", "2"], null),
        ("revoke read shared", [Root, "role", "revoke-permission", "app", "shared"], null),
        ("revoke read shared again", [Root, "role", "revoke-permission", "app", "shared"], null),
        ("revoke a role alice lacks", [Root, "user", "revoke-role", "alice", "root"], null),
        ("change alice's password", [Root, "user", "passwd", "alice", "--interactive=false"], "newpw\n"),
        ("alice's old password", [Alice, "get", "app/1"], null),
        ("alice's new password", ["--user=alice:newpw", "get", "app/1"], null),
        ("delete root", [Root, "user", "delete", "root"], null),
        ("delete the root role", [Root, "role", "delete", "root"], null),
        ("revoke root's root role", [Root, "user", "revoke-role", "root", "root"], null),
        ("delete the role app", [Root, "role", "delete", "app"], null),
        ("alice's roles after", [Root, "user", "get", "alice"], null),
        ("delete alice", [Root, "user", "delete", "alice"], null),
        ("delete alice again", [Root, "user", "delete", "alice"], null),
        ("disable", [Root, "auth", "disable"], null),
        ("put without a token after disable", ["put", "x", "2"], null),
        ("delete root after disable", ["user", "delete", "root"], null),
    ];

    [EtcdServerAndEtcdctlFact]
    public async Task EtcdctlAuthCommands_SameAnswers()
    {
        await using var etcd = EtcdProcess.Start();
        await using var cluster = ProcessCluster.Create(1);
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        using (var reference = new dotnet_etcd.EtcdClient(etcd.ClientUrl)) await Differential.WaitForEtcdAsync(etcd, reference);

        var expected = await RunAsync(etcd.ClientUrl);
        var actual = await RunAsync(cluster.Members[0].ClientUrl);

        var unexpected = new List<string>();
        foreach (var ((step, e), (_, a)) in expected.Zip(actual))
        {
            output.WriteLine($"{step}\n  etcd:   {e}\n  raftkv: {a}");
            if (DeliberateDifferences.TryGetValue(step, out var raftkv))
            {
                if (!e.StartsWith("rc=0", StringComparison.Ordinal) || a != raftkv) unexpected.Add($"{step} (a deliberate difference changed)\n  etcd:   {e}\n  raftkv: {a}");
            }
            else if (e != a)
            {
                unexpected.Add($"{step}\n  etcd:   {e}\n  raftkv: {a}");
            }
        }
        Assert.Equal(expected.Count, actual.Count);
        Assert.True(unexpected.Count == 0, "raftkv's auth differs from etcd's:\n" + string.Join("\n", unexpected));
        // The sequence did what it meant to: auth went on, alice was refused outside her permissions, auth went off.
        Assert.Equal("rc=0 Authentication Enabled", actual[2].Record);
        Assert.Equal("rc=1 Error: etcdserver: permission denied", actual.Single(r => r.Step == "put secret as alice").Record);
        Assert.Equal("rc=0 OK", actual[^2].Record);
    }

    private static async Task<List<(string Step, string Record)>> RunAsync(string clientUrl)
    {
        var endpoint = new Uri(clientUrl).Authority;
        var records = new List<(string, string)>();
        foreach (var (step, args, stdin) in Steps)
        {
            // A watch that is allowed runs until stopped; the refused ones end at once. 10 s bounds both.
            var (code, text) = await ExternalTools.RunAsync("etcdctl", ["--endpoints=" + endpoint, "--command-timeout=8s", .. args], TimeSpan.FromSeconds(20), stdin,
                new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
            records.Add((step, $"rc={code} {Normalize(text, endpoint)}"));
        }
        return records;
    }

    // etcdctl's JSON retry log lines name a random client id; the endpoint's address differs between the servers;
    // a lease id and a hash are the servers' own.
    private static string Normalize(string text, string endpoint) => string.Join(" | ", text.Split('\n')
        .Select(l => l.TrimEnd())
        .Where(l => l.Length > 0 && !l.StartsWith("{\"level\"", StringComparison.Ordinal))
        .Select(l => LeaseId().Replace(l.Replace(endpoint, "ENDPOINT", StringComparison.Ordinal), "lease ID")));

    [GeneratedRegex("lease [0-9a-f]+")]
    private static partial Regex LeaseId();
}
