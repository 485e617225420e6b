using System.Net;
using System.Net.Sockets;
using System.Text;
using RaftKv.Fuzz.Tests.Engine;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Fuzz.Tests.Targets;

/// <summary>
/// The HTTP API of a real member (a <c>raftkv serve</c> process on free loopback ports): raw HTTP/1.1 requests,
/// hostile in their request line, path, query string, headers and body, sent over a fresh connection each. Input: a
/// port byte (0: the HTTP port, dashboard and /v1 API; 1: the client port, the JSON gateway), then the request bytes.
/// Invariants: no request gets a 500 (nor a 5xx other than Kestrel's protocol answers 501 and 505, and the 503/504 a
/// member gives while it cannot serve in time); the member
/// stays up and healthy (checked every <see cref="HealthEveryExecutions"/> executions and at the end).
/// Requests that change the cluster by design (the fault routes, auth, membership and maintenance calls) are not sent:
/// a fuzzer that enables auth or removes the member measures nothing after that.
/// </summary>
public sealed class HttpApiTarget : IFuzzTarget, IAsyncDisposable
{
    private const int HealthEveryExecutions = 250;
    // How long a reply may take before the send side is closed (a request still incomplete), and after that.
    private static readonly TimeSpan ReplyWaitOpen = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan ReplyWaitClosed = TimeSpan.FromMilliseconds(500);
    private static readonly string[] Excluded = ["fault", "auth", "member", "maintenance", "raftkv.peer", "/v3/lock", "election"];

    private static readonly string[] Methods = ["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "G\0T", "", "GET GET"];

    private static readonly string[] PathEdits =
    [
        "%00", "%2e%2e/", "../", "//", "%ff", "%", "%zz", "\u00e9", "?", "&", "=", "#", ";", " ", "?prefix=true", "?prefix=maybe",
        "?limit=0", "?limit=-1", "?limit=99999999999999999999", "?consistency=serializable", "?consistency=none", "?a=1&a=2",
        "?serializable=true", "/%2f", "%C0%AF", "\t", "*",
    ];

    private static readonly string[] HeaderEdits =
    [
        "Content-Length: -1", "Content-Length: 99999999999", "Content-Length: 5\r\nContent-Length: 6", "Transfer-Encoding: chunked",
        "Transfer-Encoding: chunked, identity", "Expect: 100-continue", "Authorization: Basic Og==", "Authorization: Basic !!!",
        "Authorization: Bearer x", "Origin: http://evil.example", "Origin: null", "Content-Type: application/json; charset=utf-7",
        "Accept: */*;q=x", "Host: ", "Host: a\r\nHost: b", "X: " + new string('x', 40_000), "Connection: upgrade\r\nUpgrade: websocket",
        "Sec-WebSocket-Key: x", "Range: bytes=5-1", "If-None-Match: \"", "Cookie: a=" + new string('%', 100), ": nameless", "Bad Header: 1",
    ];

    private static readonly string[] SeedRequests =
    [
        "0GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n",
        "0GET /v1/kv/fuzz-key HTTP/1.1\r\nHost: x\r\n\r\n",
        "0PUT /v1/kv/fuzz-key HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nvalue",
        "0GET /v1/kv/?prefix=true&limit=5&consistency=serializable HTTP/1.1\r\nHost: x\r\n\r\n",
        "0DELETE /v1/kv/fuzz-key?prefix=true HTTP/1.1\r\nHost: x\r\n\r\n",
        "0GET /v1/members HTTP/1.1\r\nHost: x\r\n\r\n",
        "0GET /v1/cluster HTTP/1.1\r\nHost: x\r\n\r\n",
        "0GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "0GET /version HTTP/1.1\r\nHost: x\r\n\r\n",
        "0GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
        "0GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n",
        "0GET /readyz?verbose HTTP/1.1\r\nHost: x\r\n\r\n",
        "1POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n{\"key\":\"Zm9v\",\"value\":\"YmFy\",\"lease\":0}",
        "1POST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: 41\r\n\r\n{\"key\":\"Zm9v\",\"range_end\":\"AA==\",\"limit\":3}",
        "1POST /v3/kv/txn HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2c\r\n{\"success\":[{\"request_range\":{\"key\":\"Zm9v\"}}]}\r\n0\r\n\r\n",
        "1POST /v3/lease/grant HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n{\"TTL\":\"5\"}\n",
        "1POST /v3/kv/deleterange HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n{\"key\":\"Zm9v\"}",
        "1GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        "1POST /v3beta/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    ];

    private readonly MemberProcess _member;
    private long _runs;

    private HttpApiTarget(MemberProcess member) => _member = member;

    /// <summary>Starts a one-member cluster and waits until it serves.</summary>
    public static async Task<HttpApiTarget> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "raftkv-fuzz-http", Guid.NewGuid().ToString("n"));
        var member = new MemberProcess("A", FreePorts.Next(), FreePorts.Next(), FreePorts.Next(), Path.Combine(root, "A"));
        member.ExtraArgs = ["--initial-cluster", $"A={member.PeerUrl}", "--initial-cluster-token", "fuzz", "--initial-cluster-state", "new", "--log-level", "warn"];
        var target = new HttpApiTarget(member);
        member.Start();
        for (var attempt = 0; attempt < 150; attempt++)
        {
            if (await target.HealthyAsync().ConfigureAwait(false)) return target;
            await Task.Delay(200).ConfigureAwait(false);
        }
        var tail = member.OutputTail();
        await target.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException($"the member did not become healthy in 30 s:\n{tail}");
    }

    public string Name => "http";

    public IReadOnlyList<byte[]> Seeds() => SeedRequests.Select(r => Encoding.UTF8.GetBytes(r)).Select(b => { b[0] -= (byte)'0'; return b; }).ToArray();

    public byte[] Generate(Random random, IReadOnlyList<byte[]> corpus)
    {
        var input = corpus[random.Next(corpus.Count)];
        if (input.Length < 2 || random.Next(4) == 0) return Mutator.Mutate(random, input, corpus);
        var text = Encoding.Latin1.GetString(input.AsSpan(1));
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = headEnd >= 0 ? text[..headEnd] : text;
        var body = headEnd >= 0 ? text[(headEnd + 4)..] : "";
        var lines = head.Split("\r\n").ToList();
        var requestLine = lines[0].Split(' ');
        switch (random.Next(6))
        {
            case 0 when requestLine.Length >= 2: // another method
                requestLine[0] = Methods[random.Next(Methods.Length)];
                break;
            case 1 when requestLine.Length >= 2: // an edit of the path or query string
                {
                    var path = requestLine[1];
                    var at = random.Next(path.Length + 1);
                    requestLine[1] = random.Next(8) == 0 ? path + new string('a', random.Next(1000, 20_000)) : path.Insert(at, PathEdits[random.Next(PathEdits.Length)]);
                    break;
                }
            case 2: // a hostile header
                lines.Insert(1 + random.Next(lines.Count), HeaderEdits[random.Next(HeaderEdits.Length)]);
                break;
            case 3 when lines.Count > 1: // a header dropped
                lines.RemoveAt(1 + random.Next(lines.Count - 1));
                break;
            case 4: // the body mutated (its Content-Length left as it was, or not)
                body = Encoding.Latin1.GetString(Mutator.Mutate(random, Encoding.Latin1.GetBytes(body), corpus));
                break;
            default: // the version
                if (requestLine.Length >= 3) requestLine[2] = new[] { "HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "HTTP/9.9", "" }[random.Next(5)];
                break;
        }
        lines[0] = string.Join(' ', requestLine);
        var request = string.Join("\r\n", lines) + "\r\n\r\n" + body;
        return [(byte)(input[0] ^ (random.Next(16) == 0 ? 1 : 0)), .. Encoding.Latin1.GetBytes(request)];
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2) return;
        var request = input[1..].ToArray();
        var firstLine = Encoding.Latin1.GetString(request, 0, Math.Min(request.Length, Math.Max(0, Array.IndexOf(request, (byte)'\n')) is var n && n > 0 ? n : request.Length));
        if (Excluded.Any(e => firstLine.Contains(e, StringComparison.OrdinalIgnoreCase)))
        {
            Outcomes.Note("not sent: a route that changes the cluster by design");
            return;
        }
        var port = input[0] % 2 == 0 ? _member.HttpPort : _member.ClientPort;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var status = Send(port, request);
        Outcomes.Note(status switch { null => "no reply in time (a stream, or a request still incomplete)", 0 => "closed without a reply", _ => $"{status}" });
        if (Environment.GetEnvironmentVariable("RAFTKV_FUZZ_HTTP_TRACE") is "1") Console.WriteLine($"{status} {clock.ElapsedMilliseconds} ms {firstLine}");
        if (status is >= 500 and not (501 or 503 or 504 or 505))
            throw new FuzzFindingException($"the member answered {status} to: {Clip(Encoding.Latin1.GetString(request))}");
        if (++_runs % HealthEveryExecutions == 0) CheckHealthy();
    }

    /// <summary>Fails when the member has exited or its /health is not 200.</summary>
    public void CheckHealthy()
    {
        if (!_member.IsRunning) throw new FuzzFindingException($"the member exited:\n{_member.OutputTail()}");
        if (!HealthyAsync().GetAwaiter().GetResult()) throw new FuzzFindingException($"the member is not healthy:\n{_member.OutputTail()}");
    }

    private async Task<bool> HealthyAsync()
    {
        try
        {
            var (status, _) = await _member.GetAsync("/health").ConfigureAwait(false);
            return status == 200;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    // The reply's status code; 0 when the connection closed without one; null when none came in time. The send side
    // is closed only when no reply came in the first part of the wait (a request still incomplete): a client's FIN
    // makes Kestrel abort a request it is serving, so closing at once would hide the answers.
    private static int? Send(int port, byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, LingerState = new LingerOption(true, 0) };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        try
        {
            socket.Send(request);
        }
        catch (SocketException)
        {
            return 0; // the member closed the connection while the request was sent (too large a header)
        }
        var buffer = new byte[64];
        var received = 0;
        var halfway = DateTime.UtcNow + ReplyWaitOpen;
        var deadline = halfway + ReplyWaitClosed;
        var shut = false;
        while (received < 12)
        {
            var now = DateTime.UtcNow;
            if (!shut && now >= halfway)
            {
                shut = true;
                try
                {
                    socket.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                    return 0;
                }
            }
            var left = (shut ? deadline : halfway) - now;
            if (shut && left <= TimeSpan.Zero) return null;
            if (!socket.Poll(left > TimeSpan.Zero ? left : TimeSpan.Zero, SelectMode.SelectRead)) continue;
            int n;
            try
            {
                n = socket.Receive(buffer, received, buffer.Length - received, SocketFlags.None);
            }
            catch (SocketException)
            {
                return 0;
            }
            if (n == 0) return 0;
            received += n;
        }
        var line = Encoding.Latin1.GetString(buffer, 0, received);
        return line.StartsWith("HTTP/1.", StringComparison.Ordinal) && int.TryParse(line.AsSpan(9, 3), out var status) ? status : 0;
    }

    private static string Clip(string s) => s.Length <= 300 ? s : s[..300] + "...";

    public async ValueTask DisposeAsync()
    {
        await _member.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(Path.GetDirectoryName(_member.DataDir)!, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp directory is harmless
        }
    }
}
