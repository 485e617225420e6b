using RaftKv.Server.Tls;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Server.Tls;

/// <summary>
/// Issue 18's peer tests: a 3-member cluster with https:// peer URLs and --peer-client-cert-auth elects and
/// replicates; an impostor with a certificate from a foreign CA, posing as a member, is refused at the TLS layer,
/// logged, and moves nobody's term.
/// </summary>
public sealed class PeerTlsTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(45);
    private readonly string _certDir = Directory.CreateTempSubdirectory("raftkv-peer-tls-").FullName;

    public void Dispose() => Directory.Delete(_certDir, recursive: true);

    private static string[] PeerTls(LocalCertificates certs, string? trustedCa = null) =>
    [
        "--peer-cert-file", certs.PeerCertFile, "--peer-key-file", certs.PeerKeyFile, "--peer-trusted-ca-file", trustedCa ?? certs.CaFile, "--peer-client-cert-auth",
    ];

    [Fact]
    public async Task PeerTls_ElectsAndReplicates_AndAForeignCertificateCannotDisturb()
    {
        var certs = LocalCertificates.Ensure(_certDir);
        var foreign = LocalCertificates.Ensure(Path.Combine(_certDir, "foreign"), "foreign CA");
        await using var cluster = ProcessCluster.Create(3, schemes: ("http", "https"));
        foreach (var m in cluster.Members)
        {
            m.ExtraArgs = [.. m.ExtraArgs, .. PeerTls(certs)];
            m.Start();
        }
        var leader = await cluster.WaitForLeaderAsync();

        // Replication over TLS: a put through the leader's gateway reaches every member's applied index.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var put = await http.PostAsync($"{leader.ClientUrl}/v3/kv/put", new StringContent("""{"key":"cGVlcg==","value":"dGxz"}"""));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        var leaderStatus = (await leader.TryStatusAsync())!;
        await Poll.UntilAsync(async () =>
        {
            var statuses = await Task.WhenAll(cluster.Members.Select(m => m.TryStatusAsync()));
            return statuses.All(s => s is not null && s.Applied >= leaderStatus.Commit);
        }, Bound, "every member applies the put", cluster.Diagnostics);
        var term = leaderStatus.Term;

        // The impostor claims member C's identity (same --initial-cluster and token, so the same cluster and member
        // ids) on ports of its own, trusts the real CA (so it would talk), but presents a foreign CA's certificate.
        var c = cluster.Members.Single(m => m.Name == "C");
        await Impostor.AssertCannotDisturbAsync(cluster, leader, term, c,
            Impostor.Args(cluster, c, "impostor", "test-cluster", peerScheme: "https", extra: PeerTls(foreign, trustedCa: certs.CaFile)),
            ["peer TLS: refused a client certificate", "issued by CN=foreign CA"], "A or B logs the impostor's refused handshake", Bound);
    }
}
