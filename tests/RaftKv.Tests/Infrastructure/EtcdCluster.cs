using System.Collections.Concurrent;
using System.Diagnostics;

namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// A real etcd cluster of N members (Debian etcd-server) on free loopback ports and temporary data directories,
/// removed afterwards: the reference the application tests run against before they run against raftkv.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private readonly string _root;
    private readonly Process[] _members;
    private readonly ConcurrentQueue<string> _output;

    private EtcdCluster(string root, int[] clientPorts, Process[] members, ConcurrentQueue<string> output)
    {
        _root = root;
        _members = members;
        _output = output;
        ClientUrls = clientPorts.Select(p => $"http://127.0.0.1:{p}").ToArray();
    }

    public IReadOnlyList<string> ClientUrls { get; }

    public string Diagnostics() => string.Join('\n', _output.TakeLast(40));

    /// <summary>Starts <paramref name="size"/> members and waits (bounded) until every one reports itself healthy on <c>/health</c>.</summary>
    public static async Task<EtcdCluster> StartAsync(int size)
    {
        var root = Path.Combine(Path.GetTempPath(), "raftkv-tests", "etcd-cluster-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(root);
        var clients = Enumerable.Range(0, size).Select(_ => FreePorts.Next()).ToArray();
        var peers = Enumerable.Range(0, size).Select(_ => FreePorts.Next()).ToArray();
        var initialCluster = string.Join(',', Enumerable.Range(0, size).Select(i => $"e{i}=http://127.0.0.1:{peers[i]}"));
        var output = new ConcurrentQueue<string>();
        var members = new Process[size];
        for (var i = 0; i < size; i++)
        {
            var start = new ProcessStartInfo(ExternalTools.Require("etcd", "etcd-server"))
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[]
            {
                "--name", $"e{i}", "--data-dir", Path.Combine(root, $"e{i}"),
                "--listen-client-urls", $"http://127.0.0.1:{clients[i]}", "--advertise-client-urls", $"http://127.0.0.1:{clients[i]}",
                "--listen-peer-urls", $"http://127.0.0.1:{peers[i]}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peers[i]}",
                "--initial-cluster", initialCluster, "--initial-cluster-token", Path.GetFileName(root), "--log-level", "warn",
                // The same timing as ProcessCluster's raftkv members, so failover times compare like with like.
                "--heartbeat-interval", ProcessCluster.HeartbeatMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--election-timeout", ProcessCluster.ElectionTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }) start.ArgumentList.Add(a);
            var name = $"e{i}";
            var process = new Process { StartInfo = start };
            void Add(string? line)
            {
                if (line is null) return;
                output.Enqueue($"{name} | {line}");
                while (output.Count > 2000) output.TryDequeue(out _);
            }
            process.OutputDataReceived += (_, e) => Add(e.Data);
            process.ErrorDataReceived += (_, e) => Add(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            members[i] = process;
        }
        var cluster = new EtcdCluster(root, clients, members, output);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            await Poll.UntilAsync(async () =>
            {
                foreach (var url in cluster.ClientUrls)
                {
                    var body = await http.GetStringAsync($"{url}/health").ConfigureAwait(false);
                    if (!body.Contains("\"health\":\"true\"", StringComparison.Ordinal)) return false;
                }
                return true;
            }, TimeSpan.FromSeconds(45), $"all {size} etcd members healthy", cluster.Diagnostics).ConfigureAwait(false);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return cluster;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _members)
        {
            if (!p.HasExited)
            {
                p.Kill();
                await p.WaitForExitAsync().ConfigureAwait(false);
            }
            p.Dispose();
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
