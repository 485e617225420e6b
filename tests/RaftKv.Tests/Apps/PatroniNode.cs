using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Apps;

/// <summary>A Patroni node's own view of itself (<c>GET /patroni</c>): "master" (Patroni 3.0) or "primary" or "replica", and "running" when PostgreSQL is up.</summary>
public sealed record PatroniState(string Role, string State, long Timeline)
{
    public bool IsPrimary => Role is "master" or "primary";

    public bool IsRunningReplica => Role == "replica" && State == "running";
}

/// <summary>
/// One Patroni node (Debian patroni) managing its own PostgreSQL 15 on free loopback ports, in its own directory under
/// the test's temporary root. When the tests run as root, Patroni and PostgreSQL run as the <c>postgres</c> system user
/// (PostgreSQL refuses root), which owns the node's directory.
/// </summary>
/// <remarks>
/// Processes: a guard shell (its own session, so one process group holds it, Patroni and Patroni's children such as
/// pg_basebackup) and the postmaster, which Patroni starts in a session of its own so that it outlives Patroni. The guard
/// waits for its stdin to close: if the test process dies, the pipe closes and the guard kills the postmaster's group
/// and its own, so no node outlives a crashed test run either.
/// </remarks>
public sealed class PatroniNode : IAsyncDisposable
{
    public const string BinDir = "/usr/lib/postgresql/15/bin";
    public const string PatroniPath = "/usr/bin/patroni";

    // $1 config, $2 data directory, $3 the user to run as (empty: ourselves).
    private const string GuardScript = """
        if [ -n "$3" ]; then setpriv --reuid="$3" --regid="$3" --init-groups -- /usr/bin/patroni "$1" </dev/null &
        else /usr/bin/patroni "$1" </dev/null &
        fi
        cat >/dev/null
        pg=$(head -n1 "$2/postmaster.pid" 2>/dev/null)
        if [ -n "$pg" ] && tr '\0' ' ' <"/proc/$pg/cmdline" 2>/dev/null | grep -qF -- "$2"; then
          kill -9 -- "-$(ps -o pgid= -p "$pg" | tr -d ' ')"
        fi
        kill -9 0
        """;

    private readonly ConcurrentQueue<string> _output = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private Process? _guard;

    public PatroniNode(string name, string dir)
    {
        Name = name;
        Dir = dir;
        RestPort = FreePorts.Next();
        PgPort = FreePorts.Next();
    }

    public string Name { get; }
    public string Dir { get; }
    public int RestPort { get; }
    public int PgPort { get; }
    public string DataDir => Path.Combine(Dir, "data");
    public string RestUrl => $"http://127.0.0.1:{RestPort}";
    public bool IsRunning => _guard is { HasExited: false };

    public string OutputTail(int lines = 30) => string.Join('\n', _output.TakeLast(lines).Select(l => $"{Name} | {l}"));

    /// <summary>Patroni's own log lines (not PostgreSQL's) since the latest start, without its once-a-loop "no action" and "Lock owner" lines.</summary>
    public IEnumerable<string> PatroniLogSinceStart() =>
        _output.Reverse().TakeWhile(l => l != StartMarker).Reverse()
            .Where(l => l.Contains(" INFO: ", StringComparison.Ordinal) || l.Contains(" WARNING: ", StringComparison.Ordinal) || l.Contains(" ERROR: ", StringComparison.Ordinal))
            .Where(l => !l.Contains("no action.", StringComparison.Ordinal) && !l.Contains(" in progress", StringComparison.Ordinal) && !l.Contains("Lock owner:", StringComparison.Ordinal));

    private const string StartMarker = "---- started by the test ----";

    /// <summary>
    /// The node's patroni.yml: the <c>etcd3</c> DCS at <paramref name="dcsHosts"/>, short timings (ttl 10 s, loop_wait 1 s,
    /// retry_timeout 4 s: loop_wait + 2 retry_timeout fits in ttl, as Patroni requires), trust authentication on loopback,
    /// pg_rewind with data checksums so a killed primary can come back as a replica.
    /// </summary>
    public string Config(string scope, string dcsHosts) => $"""
        scope: {scope}
        namespace: /service/
        name: {Name}
        log:
          level: INFO
        restapi:
          listen: 127.0.0.1:{RestPort}
          connect_address: 127.0.0.1:{RestPort}
        etcd3:
          hosts: {dcsHosts}
          protocol: http
        bootstrap:
          dcs:
            ttl: 10
            loop_wait: 1
            retry_timeout: 4
            maximum_lag_on_failover: 1048576
            postgresql:
              use_pg_rewind: true
              parameters:
                wal_keep_size: 64MB
          initdb:
            - encoding: UTF8
            - data-checksums
          pg_hba:
            - local all all trust
            - host all all 127.0.0.1/32 trust
            - host replication all 127.0.0.1/32 trust
        postgresql:
          listen: 127.0.0.1:{PgPort}
          connect_address: 127.0.0.1:{PgPort}
          data_dir: {DataDir}
          bin_dir: {BinDir}
          pgpass: {Path.Combine(Dir, "pgpass")}
          remove_data_directory_on_rewind_failure: true
          remove_data_directory_on_diverged_timelines: true
          authentication:
            superuser:
              username: postgres
              password: postgres
            replication:
              username: replicator
              password: replicator
            rewind:
              username: postgres
              password: postgres
          parameters:
            unix_socket_directories: {Dir}
            shared_buffers: 16MB
        """;

    /// <summary>Writes the configuration (first start only) and starts Patroni under its guard, once the guard leads its own process group.</summary>
    public async Task StartAsync(string scope, string dcsHosts)
    {
        if (IsRunning) throw new InvalidOperationException($"{Name} is already running");
        Directory.CreateDirectory(Dir);
        var config = Path.Combine(Dir, "patroni.yml");
        if (!File.Exists(config)) File.WriteAllText(config, Config(scope, dcsHosts));
        var user = Environment.UserName == "root" ? "postgres" : "";
        if (user.Length > 0) Chown(Dir, user);
        var start = new ProcessStartInfo("/usr/bin/setsid")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Dir,
        };
        foreach (var a in new[] { "/bin/sh", "-c", GuardScript, "patroni-guard", config, DataDir, user }) start.ArgumentList.Add(a);
        start.Environment["HOME"] = Dir; // psql, pg_basebackup and pg_rewind look there; root's home is not the postgres user's
        var process = new Process { StartInfo = start };
        void Add(string? line)
        {
            if (line is null) return;
            _output.Enqueue(line);
            while (_output.Count > 3000) _output.TryDequeue(out _);
        }
        Add(StartMarker);
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _guard = process;
        // setsid execs (the child of a .NET process is no group leader), so the guard's pid names its process group
        // from the moment setsid has run; until then a kill of the group would miss it.
        await Poll.UntilAsync(() => Task.FromResult(process.HasExited || ProcessGroupOf(process.Id) == process.Id), TimeSpan.FromSeconds(10),
            $"{Name}'s guard {process.Id} leading its own process group").ConfigureAwait(false);
        if (process.HasExited) throw new InvalidOperationException($"{Name}: the guard exited at once ({process.ExitCode}):\n{OutputTail()}");
    }

    /// <summary>kill -9 of Patroni (with its whole process group) and of its PostgreSQL (the postmaster's process group).</summary>
    public async Task KillAsync()
    {
        if (_guard is { } guard)
        {
            if (!guard.HasExited) TrySignal(-guard.Id);
            KillPostgres();
            await guard.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            guard.Dispose();
            _guard = null;
        }
        else
        {
            KillPostgres();
        }
    }

    public async Task<PatroniState?> TryStateAsync()
    {
        try
        {
            using var response = await _http.GetAsync($"{RestUrl}/patroni").ConfigureAwait(false);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
            var root = json.RootElement;
            return new PatroniState(
                root.TryGetProperty("role", out var role) ? role.GetString() ?? "" : "",
                root.TryGetProperty("state", out var state) ? state.GetString() ?? "" : "",
                root.TryGetProperty("timeline", out var timeline) && timeline.ValueKind == JsonValueKind.Number ? timeline.GetInt64() : 0);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Patroni's view of the whole cluster (<c>GET /cluster</c>), as "name:role:state" per member, sorted by name; null when it does not answer.</summary>
    public async Task<IReadOnlyList<string>?> TryClusterAsync()
    {
        try
        {
            using var json = JsonDocument.Parse(await _http.GetStringAsync($"{RestUrl}/cluster").ConfigureAwait(false));
            return json.RootElement.GetProperty("members").EnumerateArray()
                .Select(m => $"{m.GetProperty("name").GetString()}:{m.GetProperty("role").GetString()}:{m.GetProperty("state").GetString()}")
                .Order(StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Runs one SQL statement with psql on this node's PostgreSQL (as the superuser, trust on loopback); exit code and output.</summary>
    public Task<(int ExitCode, string Output)> PsqlAsync(string sql) =>
        ExternalTools.RunAsync(Path.Combine(BinDir, "psql"),
            ["-h", "127.0.0.1", "-p", PgPort.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", "postgres", "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", sql],
            TimeSpan.FromSeconds(15), environment: new Dictionary<string, string> { ["PGCONNECT_TIMEOUT"] = "3" });

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync().ConfigureAwait(false);
        }
        finally
        {
            KillAnythingUnder(Dir);
            _http.Dispose();
        }
    }

    private void KillPostgres()
    {
        var pid = PostmasterPid();
        if (pid is null) return;
        var group = ProcessGroupOf(pid.Value);
        TrySignal(group is null ? pid.Value : -group.Value);
    }

    /// <summary>The postmaster's pid from postmaster.pid, when that process is alive and is this node's postmaster (not a reused pid).</summary>
    private int? PostmasterPid()
    {
        try
        {
            var first = File.ReadLines(Path.Combine(DataDir, "postmaster.pid")).FirstOrDefault();
            if (!int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return null;
            return CommandLine(pid)?.Contains(DataDir, StringComparison.Ordinal) == true ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Last resort after a failure: kill -9 every process whose command line names this node's directory.</summary>
    private static void KillAnythingUnder(string dir)
    {
        var self = Environment.ProcessId;
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == self) continue;
            if (CommandLine(pid)?.Contains(dir, StringComparison.Ordinal) == true) TrySignal(pid);
        }
    }

    private static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The process group from /proc/pid/stat (the fifth field; the second, the name in parentheses, may hold spaces).</summary>
    private static int? ProcessGroupOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[2], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static void TrySignal(int pidOrNegativeGroup)
    {
        try
        {
            Signals.Send(pidOrNegativeGroup, Signals.Sigkill);
        }
        catch (InvalidOperationException)
        {
            // Already gone (ESRCH).
        }
    }

    private static void Chown(string dir, string user)
    {
        using var chown = Process.Start(new ProcessStartInfo("chown", ["-R", $"{user}:{user}", dir]) { UseShellExecute = false })!;
        if (!chown.WaitForExit(10_000) || chown.ExitCode != 0) throw new InvalidOperationException($"chown -R {user} {dir} failed");
    }
}
