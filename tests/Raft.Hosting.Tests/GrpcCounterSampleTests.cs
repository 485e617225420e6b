using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// Sample 2 (issue 17): <c>GrpcCounter cluster</c> starts three processes over the gRPC transport with durable
/// storage. A write through a follower reaches the leader, a read on another node sees it, the leader is killed, the
/// survivors elect a new one, and the value is still there and grows.
/// </summary>
public sealed partial class GrpcCounterSampleTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _data = Directory.CreateTempSubdirectory("grpc-counter-test-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Dictionary<ulong, (int Pid, Uri Api)> _nodes = [];
    // Everything the cluster command and its nodes printed (they share its output), for a failure's message.
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _cluster;

    [GeneratedRegex(@"^node (\d+) pid (\d+) api (\S+)$")]
    private static partial Regex NodeLine();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await StopClusterAsync();
        _http.Dispose();
    }

    private async Task StopClusterAsync()
    {
        if (_cluster is { } cluster)
        {
            _cluster = null;
            // Closing its input stops the cluster: it kills its children and exits.
            cluster.StandardInput.Close();
            using var exit = new CancellationTokenSource(Bound);
            try
            {
                await cluster.WaitForExitAsync(exit.Token);
            }
            catch (OperationCanceledException)
            {
                cluster.Kill(entireProcessTree: true);
            }
            foreach (var (pid, _) in _nodes.Values) KillIfRunning(pid);
            cluster.Dispose();
            _nodes.Clear();
        }
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task ThreeProcesses_WriteThroughAFollower_ReadElsewhere_KillTheLeader_ANewOneKeepsTheValue()
    {
        await StartClusterAsync();
        if (_nodes.Values.Any(n => Exited(n.Pid)))
        {
            // The sample picks free ports and releases them for its nodes to bind, so on a busy machine another
            // process can take one in between and that node exits at once. Start again, once, on new ports.
            Console.WriteLine($"a node exited at start; starting the cluster again. Its output:{Environment.NewLine}{OutputTail()}");
            await StopClusterAsync();
            Directory.CreateDirectory(_data);
            await StartClusterAsync();
        }
        var leader = await AgreedLeaderAsync(_nodes.Keys);
        var follower = _nodes.Keys.First(id => id != leader);
        var other = _nodes.Keys.First(id => id != leader && id != follower);

        // A follower redirects the write to the leader (307); the answer is the new value.
        Assert.Equal("5", await PostAsync(follower, "/add/5"));
        Assert.Equal("12", await PostAsync(leader, "/add/7"));
        Assert.Equal("12", await GetStringAsync(other, "/value"));

        Process.GetProcessById(_nodes[leader].Pid).Kill();
        var survivors = _nodes.Keys.Where(id => id != leader).ToArray();
        var newLeader = await AgreedLeaderAsync(survivors);
        Assert.NotEqual(leader, newLeader);
        foreach (var id in survivors) Assert.Equal("12", await GetStringAsync(id, "/value"));
        Assert.Equal("13", await PostAsync(survivors.First(id => id != newLeader), "/add/1"));
    }

    private async Task StartClusterAsync()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "RaftKv.Samples.GrpcCounter.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { dll, "cluster", "--data", _data }) start.ArgumentList.Add(a);
        var cluster = _cluster = Process.Start(start)!;
        // Stderr is read on its own, all along, so a node's failure shows in the message and no pipe fills up.
        cluster.ErrorDataReceived += (_, e) => Keep(e.Data);
        cluster.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Bound);
        while (_nodes.Count < 3)
        {
            var line = await cluster.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException($"the cluster command ended early:{Environment.NewLine}{OutputTail()}");
            Keep(line);
            if (NodeLine().Match(line) is { Success: true } m)
                _nodes[ulong.Parse(m.Groups[1].Value)] = (int.Parse(m.Groups[2].Value), new Uri(m.Groups[3].Value));
        }
        // Keep draining its output (and keeping the last lines) so the child never blocks on a full pipe.
        _ = Task.Run(async () =>
        {
            while (await cluster.StandardOutput.ReadLineAsync() is { } line) Keep(line);
        });
        // A node that cannot bind its port exits within its start-up; give each that long to show it.
        var started = Stopwatch.StartNew();
        while (started.Elapsed < TimeSpan.FromSeconds(2) && !_nodes.Values.Any(n => Exited(n.Pid))) await Task.Delay(50);
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _)) { }
    }

    private string OutputTail() => string.Join(Environment.NewLine, _output.TakeLast(60));

    private static bool Exited(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true; // no such process
        }
    }

    // Polls /status until every node in ids names the same leader, and that leader says it leads.
    private async Task<ulong> AgreedLeaderAsync(IEnumerable<ulong> ids)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < Bound)
        {
            var statuses = new List<Status>();
            foreach (var id in ids)
            {
                try
                {
                    if (await _http.GetFromJsonAsync<Status>(new Uri(_nodes[id].Api, "/status")) is { } s) statuses.Add(s);
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }
            }
            if (statuses.Count == ids.Count() && statuses.Select(s => s.Leader).Distinct().Count() == 1
                && statuses.FirstOrDefault(s => s.Id == statuses[0].Leader) is { Role: "Leader" } leader)
                return leader.Id;
            await Task.Delay(50);
        }
        var exited = _nodes.Where(n => Exited(n.Value.Pid)).Select(n => n.Key).ToArray();
        throw new TimeoutException($"no agreed leader among {string.Join(',', ids)} within {Bound.TotalSeconds} s"
            + $" (nodes exited: {(exited.Length == 0 ? "none" : string.Join(',', exited))}); the cluster's output:{Environment.NewLine}{OutputTail()}");
    }

    private async Task<string> PostAsync(ulong id, string path)
    {
        using var response = await _http.PostAsync(new Uri(_nodes[id].Api, path), null);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} on node {id}: {(int)response.StatusCode} {body}");
        return body;
    }

    private async Task<string> GetStringAsync(ulong id, string path) => await _http.GetStringAsync(new Uri(_nodes[id].Api, path));

    private static void KillIfRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (ArgumentException)
        {
            // already gone
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
    }

    private sealed record Status(ulong Id, ulong Leader, ulong Term, string Role, ulong Applied);
}
