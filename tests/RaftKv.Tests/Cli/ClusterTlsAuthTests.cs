using System.Collections.Concurrent;
using System.Diagnostics;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests.Cli;

/// <summary>
/// Issue 18's "done means": <c>raftkv cluster --tls</c> exactly as the README runs it (its fixed ports, so in a network
/// namespace of the test's own), and etcdctl with the flags it prints (<c>--cacert/--cert/--key</c>) and with
/// <c>--user</c>, once auth is on: the client certificate's CN (root) is the user where no --user is given, as in etcd; a
/// user's password and permissions are enforced; a client without a certificate is turned away at the handshake.
/// </summary>
public sealed class ClusterTlsAuthTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [NetworkNamespaceAndEtcdctlFact]
    public async Task EtcdctlWithCertificatesAndUsers_WorksAgainstTheLocalTlsClusterWithAuthOn()
    {
        var dataDir = Directory.CreateTempSubdirectory("raftkv-cluster-tls-").FullName;
        await using var host = await NetworkNamespace.CreateAsync();
        var lines = new ConcurrentQueue<string>();
        using var cluster = Process.Start(host.StartInfo("dotnet", [RaftKvBinary.DllPath, "cluster", "--tls", "--nodes", "3", "--data-dir", dataDir]))!;
        cluster.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        cluster.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        cluster.BeginOutputReadLine();
        cluster.BeginErrorReadLine();
        try
        {
            // The launcher prints the etcdctl command to use: its flags are what a user would copy.
            var hint = await Poll.UntilAsync(() => Task.FromResult(lines.FirstOrDefault(l => l.Contains("etcdctl --endpoints=", StringComparison.Ordinal))),
                TimeSpan.FromSeconds(60), "the launcher's etcdctl command", () => string.Join('\n', lines));
            var flags = hint[(hint.IndexOf("etcdctl ", StringComparison.Ordinal) + "etcdctl ".Length)..hint.IndexOf(" endpoint status", StringComparison.Ordinal)]
                .Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains(flags, f => f.StartsWith("--cacert=", StringComparison.Ordinal));
            Assert.Contains(flags, f => f.StartsWith("--cert=", StringComparison.Ordinal));
            Assert.Contains(flags, f => f.StartsWith("--key=", StringComparison.Ordinal));
            Assert.Contains(flags, f => f.StartsWith("--endpoints=https://", StringComparison.Ordinal));

            async Task<(int Code, string Output)> Etcdctl(params string[] args)
            {
                var result = await host.RunAsync("etcdctl", [.. flags, .. args], Bound);
                output.WriteLine($"etcdctl {string.Join(' ', args)} -> {result.ExitCode}: {result.Output.Trim()}");
                return result;
            }
            async Task<string> Ok(params string[] args)
            {
                var (code, text) = await Etcdctl(args);
                Assert.True(code == 0, $"etcdctl {string.Join(' ', args)} failed ({code}): {text}\n{string.Join('\n', lines.TakeLast(40))}");
                // etcdctl's client logs its retries as JSON lines (auth enable adds the root role on a first refusal, as with etcd).
                return string.Join('\n', text.Split('\n').Where(l => !l.StartsWith("{\"level\"", StringComparison.Ordinal))).Trim();
            }

            await Poll.UntilAsync(async () => (await Etcdctl("endpoint", "health")).Code == 0, TimeSpan.FromSeconds(90),
                "every member healthy over TLS", () => string.Join('\n', lines.TakeLast(60)));

            Assert.Equal("User root created", await Ok("user", "add", "root:rootpw"));
            await Ok("user", "add", "alice:alicepw");
            await Ok("role", "add", "app");
            await Ok("role", "grant-permission", "app", "readwrite", "app/", "--prefix=true");
            await Ok("user", "grant-role", "alice", "app");
            await Ok("put", "secret", "s");
            Assert.Equal("Authentication Enabled", await Ok("auth", "enable"));

            // --user: alice within her range, refused outside it, and a wrong password refused.
            Assert.Equal("OK", await Ok("--user", "alice:alicepw", "put", "app/x", "1"));
            Assert.Equal("app/x\n1", await Ok("--user", "alice:alicepw", "get", "app/x"));
            var (deniedCode, denied) = await Etcdctl("--user", "alice:alicepw", "get", "secret");
            Assert.NotEqual(0, deniedCode);
            Assert.Contains("permission denied", denied, StringComparison.Ordinal);
            var (wrongCode, wrong) = await Etcdctl("--user", "alice:nope", "get", "app/x");
            Assert.NotEqual(0, wrongCode);
            Assert.Contains("authentication failed", wrong, StringComparison.Ordinal);

            // No --user: the certificate's CN, root, is the user; root may do everything.
            Assert.Equal("secret\ns", await Ok("get", "secret"));
            Assert.Equal("root\nalice", string.Join('\n', (await Ok("user", "list")).Split('\n').Order(StringComparer.Ordinal).Reverse()));

            // Without a client certificate the TLS handshake fails (--client-cert-auth): nothing is served.
            var caOnly = flags.Where(f => !f.StartsWith("--cert=", StringComparison.Ordinal) && !f.StartsWith("--key=", StringComparison.Ordinal)).ToArray();
            var (bareCode, bare) = await host.RunAsync("etcdctl", [.. caOnly, "--user", "root:rootpw", "--command-timeout=3s", "get", "secret"], Bound);
            Assert.True(bareCode != 0, $"a client without a certificate was served: {bare}");
        }
        finally
        {
            await StopAsync(cluster);
            foreach (var line in lines.TakeLast(30)) output.WriteLine(line);
            Directory.Delete(dataDir, recursive: true);
        }
    }

    // SIGTERM, as Ctrl+C: the launcher stops its members; killed (with them) if it does not within the bound.
    private static async Task StopAsync(Process cluster)
    {
        if (cluster.HasExited) return;
        Signals.Send(cluster.Id, Signals.Sigterm);
        using var timeout = new CancellationTokenSource(Bound);
        try
        {
            await cluster.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            cluster.Kill(entireProcessTree: true);
        }
    }
}
