using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;

// Failover: a local 3-member raftkv cluster with default timeouts (heartbeat 100 ms, election 1000 ms); kill -9 the
// leader N times and measure, from the kill, the time until the others agree on a new leader and until a write
// succeeds again. Usage: dotnet run -c Release --project bench/FailoverBench [-- --rounds 20]
var rounds = args.Length >= 2 && args[0] == "--rounds" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
// --logs DIR keeps each member's debug log (for looking at where an election's time went).
var logDir = args.Length >= 4 && args[2] == "--logs" ? args[3] : null;
const int HeartbeatMs = 100, ElectionMs = 1000;
var dll = LocateRaftKv();
var root = Path.Combine(Path.GetTempPath(), "raftkv-failover-" + Guid.NewGuid().ToString("n")[..8]);
var members = Enumerable.Range(0, 3).Select(i => new Member(((char)('A' + i)).ToString(), FreePort(), FreePort(), FreePort(), Path.Combine(root, ((char)('A' + i)).ToString()))).ToArray();
var initialCluster = string.Join(",", members.Select(m => $"{m.Name}=http://127.0.0.1:{m.PeerPort}"));
using var http = new HttpClient { Timeout = TimeSpan.FromMilliseconds(500) };
var electMs = new List<double>();
var writeMs = new List<double>();
try
{
    foreach (var m in members) m.LogDir = logDir;
    foreach (var m in members) m.Start(dll, initialCluster, HeartbeatMs, ElectionMs);
    var leader = await WaitForLeaderAsync(members, http, minTerm: 0, TimeSpan.FromSeconds(30));
    Console.WriteLine($"failover: 3 members, heartbeat {HeartbeatMs} ms, election timeout {ElectionMs} ms, {rounds} rounds of kill -9 on the leader");
    Console.WriteLine($"{"round",5} {"killed",6} {"new",4} {"term",5} {"elect ms",9} {"write ms",9}");
    for (var round = 1; round <= rounds; round++)
    {
        var (leaderMember, term) = leader;
        // Steady state first: a write, and every member has applied it (so any survivor can win).
        await PutAsync(leaderMember, $"warm/{round}", TimeSpan.FromSeconds(10));
        await WaitForCatchUpAsync(members, http, TimeSpan.FromSeconds(10));
        var stopwatch = Stopwatch.StartNew();
        if (logDir is not null) Console.WriteLine($"killing {leaderMember.Name} at {DateTime.Now:HH:mm:ss.fff}");
        leaderMember.Kill();
        var survivors = members.Where(m => m != leaderMember).ToArray();
        var next = await WaitForLeaderAsync(survivors, http, term + 1, TimeSpan.FromSeconds(30));
        var elected = stopwatch.Elapsed.TotalMilliseconds;
        await PutAsync(next.Leader, $"after/{round}", TimeSpan.FromSeconds(30), survivors);
        var written = stopwatch.Elapsed.TotalMilliseconds;
        electMs.Add(elected);
        writeMs.Add(written);
        Console.WriteLine($"{round,5} {leaderMember.Name,6} {next.Leader.Name,4} {next.Term,5} {elected,9:F0} {written,9:F0}");
        leaderMember.Start(dll, initialCluster, HeartbeatMs, ElectionMs);
        leader = await WaitForLeaderAsync(members, http, 0, TimeSpan.FromSeconds(30));
    }
    Report("new leader", electMs);
    Report("write succeeds", writeMs);
}
finally
{
    foreach (var m in members) m.Kill();
    try { Directory.Delete(root, recursive: true); } catch (IOException) { }
}
return 0;

void Report(string what, List<double> ms)
{
    var sorted = ms.Order().ToArray();
    double Pct(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
    Console.WriteLine($"{what,-15}: median {Pct(50),6:F0} ms ({Pct(50) / ElectionMs:F2} election timeouts), p99 {Pct(99),6:F0} ms ({Pct(99) / ElectionMs:F2}), min {sorted[0]:F0}, max {sorted[^1]:F0}");
}

static async Task<(Member Leader, ulong Term)> WaitForLeaderAsync(Member[] candidates, HttpClient http, ulong minTerm, TimeSpan timeout)
{
    var stopwatch = Stopwatch.StartNew();
    while (stopwatch.Elapsed < timeout)
    {
        var statuses = await Task.WhenAll(candidates.Select(async m =>
        {
            try { return await http.GetFromJsonAsync<Status>($"http://127.0.0.1:{m.HttpPort}/v1/status"); }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return null; }
        }));
        if (statuses.All(s => s is not null))
        {
            var leaders = statuses.Where(s => s!.Role == "leader" && s.Term >= minTerm).ToArray();
            if (leaders.Length == 1 && statuses.All(s => s!.Leader == leaders[0]!.Id && s.Term == leaders[0]!.Term))
                return (candidates.Single(m => m.Name == leaders[0]!.Name), leaders[0]!.Term);
        }
        await Task.Delay(5);
    }
    throw new TimeoutException("no leader agreed within " + timeout);
}

static async Task WaitForCatchUpAsync(Member[] all, HttpClient http, TimeSpan timeout)
{
    var stopwatch = Stopwatch.StartNew();
    while (stopwatch.Elapsed < timeout)
    {
        var statuses = await Task.WhenAll(all.Select(m => http.GetFromJsonAsync<Status>($"http://127.0.0.1:{m.HttpPort}/v1/status")));
        var commit = statuses.Max(s => s!.Commit);
        if (statuses.All(s => s!.Applied >= commit)) return;
        await Task.Delay(5);
    }
    throw new TimeoutException("members did not catch up");
}

static async Task PutAsync(Member target, string key, TimeSpan timeout, Member[]? fallbacks = null)
{
    var stopwatch = Stopwatch.StartNew();
    var targets = fallbacks ?? [target];
    var i = 0;
    while (true)
    {
        var m = targets[i++ % targets.Length];
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{m.ClientPort}");
        try
        {
            await new KV.KVClient(channel).PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8("v") },
                deadline: DateTime.UtcNow.AddMilliseconds(500));
            return;
        }
        catch (Grpc.Core.RpcException) when (stopwatch.Elapsed < timeout)
        {
            await Task.Delay(5);
        }
    }
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static string LocateRaftKv()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RaftKv.slnx"))) dir = dir.Parent;
    var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
    var dll = Path.Combine(dir!.FullName, "src", "RaftKv", "bin", configuration, "net10.0", "raftkv.dll");
    return File.Exists(dll) ? dll : throw new FileNotFoundException("build raftkv first", dll);
}

sealed record Status(string Name, string Id, ulong Term, string Leader, string Role, ulong Commit, ulong Applied);

sealed class Member(string name, int clientPort, int peerPort, int httpPort, string dataDir)
{
    private Process? _process;
    public string? LogDir { get; set; }
    public string Name => name;
    public int ClientPort => clientPort;
    public int PeerPort => peerPort;
    public int HttpPort => httpPort;

    public void Start(string dll, string initialCluster, int heartbeatMs, int electionMs)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            dll, "serve", "--name", name, "--data-dir", dataDir, "--listen-client-urls", $"http://127.0.0.1:{clientPort}",
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--listen-http-urls", $"http://127.0.0.1:{httpPort}",
            "--initial-cluster", initialCluster, "--heartbeat-interval", heartbeatMs.ToString(CultureInfo.InvariantCulture),
            "--election-timeout", electionMs.ToString(CultureInfo.InvariantCulture), "--log-level", LogDir is null ? "warn" : "debug", "--exit-on-stdin-eof",
        }) start.ArgumentList.Add(a);
        _process = Process.Start(start)!;
        var log = LogDir is null ? null : TextWriter.Synchronized(new StreamWriter(Path.Combine(LogDir, name + ".log"), append: true) { AutoFlush = true });
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null && e.Data.Contains("raft[", StringComparison.Ordinal)) log?.WriteLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log?.WriteLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit();
        }
    }
}
