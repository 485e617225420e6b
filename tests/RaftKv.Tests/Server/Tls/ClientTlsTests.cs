using System.Net;
using RaftKv.Server.Tls;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Server.Tls;

/// <summary>
/// Issue 18's client TLS tests, with etcd's own etcdctl: the right CA, a wrong CA, no client certificate under
/// --client-cert-auth, the JSON gateway over TLS, and certificates replaced on disk while the member runs.
/// </summary>
public sealed class ClientTlsTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _certDir = Directory.CreateTempSubdirectory("raftkv-tls-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_certDir, recursive: true);
        return Task.CompletedTask;
    }

    private static Task<(int Code, string Output)> Etcdctl(string endpoint, IEnumerable<string> tlsArgs, params string[] args) =>
        ExternalTools.RunAsync("etcdctl", ["--endpoints=" + endpoint, "--dial-timeout=3s", "--command-timeout=5s", .. tlsArgs, .. args], Bound, null,
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });

    private static string[] WithClientCert(LocalCertificates c, string? caFile = null) => [$"--cacert={caFile ?? c.CaFile}", $"--cert={c.ClientCertFile}", $"--key={c.ClientKeyFile}"];

    private static async Task<ProcessCluster> StartAsync(params string[] tlsArgs)
    {
        var cluster = ProcessCluster.Create(1, schemes: ("https", "http"));
        var member = cluster.Members[0];
        member.ExtraArgs = [.. member.ExtraArgs, .. tlsArgs];
        member.Start();
        await cluster.WaitForLeaderAsync();
        return cluster;
    }

    [EtcdctlFact]
    public async Task ClientCertAuth_TheRightCaAndCertificateSucceed_AWrongCaOrNoCertificateFail()
    {
        var certs = LocalCertificates.Ensure(_certDir);
        var foreign = LocalCertificates.Ensure(Path.Combine(_certDir, "foreign"), "foreign CA");
        await using var cluster = await StartAsync("--cert-file", certs.ServerCertFile, "--key-file", certs.ServerKeyFile,
            "--trusted-ca-file", certs.CaFile, "--client-cert-auth");
        var endpoint = cluster.Members[0].ClientUrl;

        var (code, output) = await Etcdctl(endpoint, WithClientCert(certs), "put", "tls/k", "v");
        Assert.True(code == 0, $"put over TLS failed ({code}):\n{output}\n{cluster.Diagnostics()}");
        (code, output) = await Etcdctl(endpoint, WithClientCert(certs), "get", "tls/k", "--print-value-only");
        Assert.True(code == 0 && output.Trim() == "v", $"get over TLS ({code}):\n{output}");

        // The server's certificate does not chain to the CA etcdctl was given.
        (code, output) = await Etcdctl(endpoint, WithClientCert(certs, foreign.CaFile), "get", "tls/k");
        Assert.True(code != 0, $"a wrong --cacert must fail, got:\n{output}");

        // No client certificate: refused in the handshake, and the refusal is logged.
        (code, output) = await Etcdctl(endpoint, [$"--cacert={certs.CaFile}"], "get", "tls/k");
        Assert.True(code != 0, $"no client certificate must fail under --client-cert-auth, got:\n{output}");

        // A client certificate from another CA: refused too.
        (code, output) = await Etcdctl(endpoint, [$"--cacert={certs.CaFile}", $"--cert={foreign.ClientCertFile}", $"--key={foreign.ClientKeyFile}"], "get", "tls/k");
        Assert.True(code != 0, $"a foreign client certificate must fail, got:\n{output}");
        await Poll.UntilAsync(() => Task.FromResult(cluster.Members[0].Output.Any(l => l.Contains("client TLS: ", StringComparison.Ordinal))),
            Bound, "the member logs a refused handshake", cluster.Diagnostics);
    }

    [Fact]
    public async Task TheJsonGateway_ServesHttp11OverTls_WithClientCertAuth()
    {
        var certs = LocalCertificates.Ensure(_certDir);
        await using var cluster = await StartAsync("--cert-file", certs.ServerCertFile, "--key-file", certs.ServerKeyFile,
            "--trusted-ca-file", certs.CaFile, "--client-cert-auth");
        using var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(certs.CaFile);
        using var client = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certs.ClientCertFile, certs.ClientKeyFile);
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [client];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
            chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
            return cert is System.Security.Cryptography.X509Certificates.X509Certificate2 c && chain.Build(c);
        };
        using var http = new HttpClient(handler) { DefaultRequestVersion = HttpVersion.Version11, Timeout = Bound };
        // The gateway calls the gRPC services through its private socket: the client port's client-cert-auth does not stop it.
        using var put = await http.PostAsync($"{cluster.Members[0].ClientUrl}/v3/kv/put", new StringContent("""{"key":"Z3c=","value":"dg=="}"""));
        var body = await put.Content.ReadAsStringAsync();
        Assert.True(put.StatusCode == HttpStatusCode.OK, $"gateway put over TLS: {(int)put.StatusCode} {body}\n{cluster.Diagnostics()}");
        Assert.Equal(new Version(1, 1), put.Version);
        using var range = await http.PostAsync($"{cluster.Members[0].ClientUrl}/v3/kv/range", new StringContent("""{"key":"Z3c="}"""));
        Assert.Contains("\"value\":\"dg==\"", await range.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [EtcdctlFact]
    public async Task ReplacedCertificateFiles_AreServedToNewConnections_WithoutARestart()
    {
        var certs = LocalCertificates.Ensure(_certDir, "first CA");
        var firstCa = Path.Combine(_certDir, "first-ca.crt");
        File.Copy(certs.CaFile, firstCa);
        await using var cluster = await StartAsync("--cert-file", certs.ServerCertFile, "--key-file", certs.ServerKeyFile);
        var endpoint = cluster.Members[0].ClientUrl;
        var pid = cluster.Members[0].Pid;
        var (code, output) = await Etcdctl(endpoint, [$"--cacert={firstCa}"], "put", "reload/k", "1");
        Assert.True(code == 0, $"put with the first CA ({code}):\n{output}");

        certs.Write("second CA"); // new CA, new server certificate, same paths
        await Poll.UntilAsync(async () => (await Etcdctl(endpoint, [$"--cacert={certs.CaFile}"], "get", "reload/k")).Code == 0,
            Bound, "a new connection verifies with the second CA", cluster.Diagnostics);
        (code, output) = await Etcdctl(endpoint, [$"--cacert={firstCa}"], "get", "reload/k");
        Assert.True(code != 0, $"the first CA must no longer verify the server, got:\n{output}");
        Assert.Equal(pid, cluster.Members[0].Pid); // the same process: no restart
    }
}
