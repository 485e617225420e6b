using RaftKv.Server.Tls;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Server.Tls;

/// <summary>Bad TLS flags stop <c>raftkv serve</c> before anything starts: exit code 2, the flag and the file named, no data directory made.</summary>
public sealed class TlsFlagsProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("raftkv-tls-flags-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("--cert-file {missing} --key-file {missing}", "--cert-file: file '{missing}' does not exist")]
    [InlineData("--cert-file {cert} --key-file {key} --trusted-ca-file {missing}", "--trusted-ca-file: file '{missing}' does not exist")]
    [InlineData("--auto-tls --client-cert-auth", "--client-cert-auth needs --trusted-ca-file")]
    [InlineData("", "https:// client URLs need --cert-file and --key-file, or --auto-tls")]
    [InlineData("--auto-tls --cipher-suites TLS_BOGUS", "--cipher-suites: unknown cipher suite 'TLS_BOGUS'")]
    [InlineData("--auto-tls --tls-min-version TLS1.0", "--tls-min-version: TLS1.0 is not supported")]
    public async Task BadTlsFlags_ExitWith2_NamingTheFlag(string flags, string expected)
    {
        var certs = LocalCertificates.Ensure(Path.Combine(_dir, "certs"));
        var missing = Path.Combine(_dir, "missing.pem");
        string Fill(string s) => s.Replace("{missing}", missing, StringComparison.Ordinal).Replace("{cert}", certs.ServerCertFile, StringComparison.Ordinal)
            .Replace("{key}", certs.ServerKeyFile, StringComparison.Ordinal);
        var dataDir = Path.Combine(_dir, "data");
        var args = new List<string>
        {
            "serve", "--data-dir", dataDir, "--listen-client-urls", $"https://127.0.0.1:{FreePorts.Next()}", "--listen-peer-urls", $"http://127.0.0.1:{FreePorts.Next()}",
        };
        args.AddRange(Fill(flags).Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var (code, output) = await RaftKvBinary.RunAsync(args, TimeSpan.FromSeconds(30));
        Assert.Equal(2, code);
        Assert.Contains(Fill(expected), output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDir), "a rejected start must not create the data directory");
    }

    /// <summary><c>raftkv certs</c> (the set <c>raftkv cluster --tls</c> makes): a CA that verifies the leaves it wrote, and etcdctl's flags printed.</summary>
    [Fact]
    public async Task CertsCommand_WritesACaAndLeaves_AndPrintsEtcdctlsFlags()
    {
        var dir = Path.Combine(_dir, "made");
        var (code, output) = await RaftKvBinary.RunAsync(["certs", "--dir", dir], TimeSpan.FromSeconds(30));
        Assert.True(code == 0, output);
        var certs = new LocalCertificates(dir);
        Assert.Contains($"etcdctl --cacert={certs.CaFile} --cert={certs.ClientCertFile} --key={certs.ClientKeyFile}", output, StringComparison.Ordinal);
        var ca = TrustedCa.FromFile(certs.CaFile, "--trusted-ca-file");
        foreach (var (cert, key) in new[] { (certs.ServerCertFile, certs.ServerKeyFile), (certs.PeerCertFile, certs.PeerKeyFile), (certs.ClientCertFile, certs.ClientKeyFile) })
        {
            var leaf = ReloadingCertificate.FromFiles(cert, key, "--cert-file", "--key-file").Current;
            Assert.True(ca.Verifies(leaf, out var problem), $"{cert}: {problem}");
        }
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(certs.ServerKeyFile));
    }
}
