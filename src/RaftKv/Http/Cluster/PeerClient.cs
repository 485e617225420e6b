using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RaftKv.Server;

namespace RaftKv.Http.Cluster;

/// <summary>
/// Talks to the other members' dashboard endpoints on their peer URLs (HTTP/2 without TLS, like the Raft
/// traffic). The peer URL is the one address every member knows of every other, so no extra flag is needed to
/// find a peer's HTTP port: the peer tells it in its <see cref="MemberView"/>.
/// </summary>
public sealed class PeerClient : IDisposable
{
    /// <summary>The dashboard endpoints' path prefix on the peer port (the server only routes /raftkv.peer.* there).</summary>
    public const string Prefix = "/raftkv.peer.dashboard.v1";

    /// <summary>JSON as the HTTP API writes it (camelCase).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;

    /// <summary>A client that uses <paramref name="peerTls"/> for https:// peer URLs (null: plaintext peers).</summary>
    public PeerClient(Server.Tls.TlsEndpoint? peerTls = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(500),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxResponseDrainSize = 64 * 1024,
        };
        Server.Tls.PeerTlsClient.Configure(handler, peerTls);
        _http = new HttpClient(handler)
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = 1024 * 1024,
        };
    }

    /// <summary>A peer's view of itself; throws when it does not answer within <paramref name="timeout"/>.</summary>
    public async Task<MemberView> ViewAsync(Member member, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(member);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            return await _http.GetFromJsonAsync<MemberView>(Url(member, "/view"), Json, cts.Token).ConfigureAwait(false)
                ?? throw new HttpRequestException($"{member.Name} sent an empty view");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{member.Name} did not answer within {timeout.TotalMilliseconds:F0} ms");
        }
    }

    /// <summary>POSTs JSON to a peer's dashboard endpoint; returns the status code and body.</summary>
    public async Task<(int Status, string Body)> PostAsync(Member member, string pathAndQuery, object? body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(member);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var content = JsonContent.Create(body ?? new object(), options: Json);
            using var response = await _http.PostAsync(Url(member, pathAndQuery), content, cts.Token).ConfigureAwait(false);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{member.Name} did not answer within {timeout.TotalMilliseconds:F0} ms");
        }
    }

    private static Uri Url(Member member, string pathAndQuery) => new(member.PeerUrl, Prefix + pathAndQuery);

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
