using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using Grpc.Net.Client;

namespace RaftKv.Tests.Infrastructure;

/// <summary>A member's status as served by <c>GET /v1/status</c>.</summary>
public sealed record MemberStatus(string Name, string Id, string ClusterId, ulong Term, string Leader, string LeaderName, string Role,
    ulong Commit, ulong Applied, ulong LastIndex, StoreStatus? Store = null);

/// <summary>The key-value store part of <c>/v1/status</c>.</summary>
public sealed record StoreStatus(long Revision, long CompactRevision, bool CompactionPending, long SizeBytes, long VersionCount);

/// <summary>Where a member runs when not on this machine's loopback: a host of a <see cref="HostNetwork"/>.</summary>
/// <param name="Namespace">The host's network namespace, where the process is started.</param>
/// <param name="Address">The host's address, which the member binds.</param>
/// <param name="Clients">Sockets on the client host, for every connection the test makes to the member.</param>
/// <param name="Index">The host's number in its network.</param>
internal sealed record MemberHost(string Namespace, string Address, NamespaceSockets Clients, int Index);

/// <summary>One <c>raftkv serve</c> process: start, kill -9, pause, resume, restart, and its output for diagnostics.</summary>
public sealed class MemberProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly HttpClient _http;
    private readonly MemberHost? _host;
    private Process? _process;

    public MemberProcess(string name, int clientPort, int peerPort, int httpPort, string dataDir)
        : this(name, clientPort, peerPort, httpPort, dataDir, host: null)
    {
    }

    internal MemberProcess(string name, int clientPort, int peerPort, int httpPort, string dataDir, MemberHost? host)
    {
        Name = name;
        ClientPort = clientPort;
        PeerPort = peerPort;
        HttpPort = httpPort;
        DataDir = dataDir;
        _host = host;
        _http = host is null ? new HttpClient() : new HttpClient(host.Clients.Handler());
        _http.Timeout = TimeSpan.FromSeconds(2);
    }

    public string Name { get; }
    public int ClientPort { get; }
    public int PeerPort { get; }
    public int HttpPort { get; }
    public string DataDir { get; }
    /// <summary>"https" for a TLS client port (set before the cluster's flags are made).</summary>
    public string ClientScheme { get; set; } = "http";
    /// <summary>"https" for a TLS peer port.</summary>
    public string PeerScheme { get; set; } = "http";
    /// <summary>The host the member runs on; null on loopback.</summary>
    internal MemberHost? Host => _host;

    /// <summary>The address the member binds: its host's, or 127.0.0.1.</summary>
    public string Address => _host?.Address ?? "127.0.0.1";
    public string ClientUrl => $"{ClientScheme}://{Address}:{ClientPort}";
    public string PeerUrl => $"{PeerScheme}://{Address}:{PeerPort}";
    public string HttpUrl => $"http://{Address}:{HttpPort}";

    /// <summary>A gRPC channel to this member's client URL from where the test's clients are (on a host network, the client host).</summary>
    public GrpcChannel OpenChannel() => NamespaceSockets.OpenChannel(ClientUrl, _host?.Clients);

    /// <summary>Extra flags (cluster, timeouts) given at every start.</summary>
    public IReadOnlyList<string> ExtraArgs { get; set; } = [];

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The running process's id (for /proc/PID/status); null when not started.</summary>
    public int? Pid => _process?.Id;

    // ASP.NET Core's per-request lines (debug level) would crowd out the member's own in a diagnostic tail.
    public string OutputTail(int lines = 40) => string.Join('\n', _output.Where(l => !l.Contains("Microsoft.AspNetCore.Hosting.Diagnostics", StringComparison.Ordinal)
        && !l.Contains("Microsoft.AspNetCore.Routing.EndpointMiddleware", StringComparison.Ordinal)).TakeLast(lines).Select(l => $"{Name} | {l}"));

    public IReadOnlyCollection<string> Output => _output;

    public IEnumerable<string> ServeArgs() =>
    [
        "serve", "--name", Name, "--data-dir", DataDir,
        "--listen-client-urls", ClientUrl, "--listen-peer-urls", PeerUrl, "--listen-http-urls", HttpUrl,
        .. ExtraArgs,
    ];

    public void Start() => _process = RaftKvBinary.Start(ServeArgs(), _output, inNamespace: _host?.Namespace);

    /// <summary>Starts the member with <paramref name="environment"/> set for this start only (e.g. RAFTKV_FAILPOINTS).</summary>
    public void Start(IReadOnlyDictionary<string, string?> environment) =>
        _process = RaftKvBinary.Start(ServeArgs(), _output, environment: environment, inNamespace: _host?.Namespace);

    /// <summary>Waits until the process has exited by itself (a failure point) and returns its exit code; null after the bound.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        if (_process is not { } p) return null;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        p.WaitForExit(); // drain the output
        return p.ExitCode;
    }

    /// <summary>kill -9: no chance to flush anything.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit(5000);
        }
    }

    public void Pause() => Signals.Send(_process!.Id, Signals.Sigstop);

    public void Resume() => Signals.Send(_process!.Id, Signals.Sigcont);

    public async Task<MemberStatus?> TryStatusAsync()
    {
        if (!IsRunning) return null;
        try
        {
            return await _http.GetFromJsonAsync<MemberStatus>($"{HttpUrl}/v1/status").ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public async Task<(int Status, string Body)> GetAsync(string path)
    {
        using var response = await _http.GetAsync($"{HttpUrl}{path}").ConfigureAwait(false);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync().ConfigureAwait(false));
    }

    /// <summary>Kills the process (resuming it first if paused) and waits for it; the member can be started again.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            try
            {
                Signals.Send(p.Id, Signals.Sigcont);
            }
            catch (InvalidOperationException)
            {
            }
            p.Kill();
            await p.WaitForExitAsync().ConfigureAwait(false);
        }
        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _http.Dispose();
    }
}
