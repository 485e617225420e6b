using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace RaftKv.Tests.Gateway;

/// <summary>Plain HTTP/1.1 calls to etcd's JSON gateway, as curl, Patroni or etcd3gw make them.</summary>
public sealed class GatewayClient(string baseUrl) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(20) };

    /// <summary>POSTs <paramref name="body"/> (sent as is, so malformed JSON can be sent) and returns status and body.</summary>
    public async Task<(int Status, string Body)> PostAsync(string path, string? body, string method = "POST")
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var response = await _http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// Opens a streaming call with a whole body of requests, runs <paramref name="whileOpen"/> once the first line came,
    /// and returns the first <paramref name="lines"/> lines of the reply (bounded by <paramref name="timeout"/>).
    /// </summary>
    public async Task<List<string>> StreamAsync(string path, string body, int lines, Func<Task>? whileOpen = null, TimeSpan? timeout = null)
    {
        using var bound = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        var result = new List<string>();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, bound.Token);
            await using var stream = await response.Content.ReadAsStreamAsync(bound.Token);
            using var reader = new StreamReader(stream);
            while (result.Count < lines)
            {
                var line = await reader.ReadLineAsync(bound.Token);
                if (line is null) break;
                if (line.Length == 0) continue;
                result.Add(line);
                if (result.Count == 1 && whileOpen is not null) await whileOpen();
            }
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested)
        {
            // Out of time: what came so far goes to the comparison, which then shows the lines that are missing (a
            // CI run once got fewer than the 4 watch lines within 20 s; this makes such a run say which).
            result.Add($"(timed out after {result.Count} of {lines} lines)");
        }
        return result;
    }

    /// <summary>The JSON without what differs between two servers: ids of cluster and member, Raft term.</summary>
    public static string Normalize(string json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (System.Text.Json.JsonException)
        {
            return json;
        }
        Strip(node);
        return node?.ToJsonString() ?? "null";
    }

    private static void Strip(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["header"] is JsonObject h)
                {
                    h.Remove("cluster_id");
                    h.Remove("member_id");
                    h.Remove("raft_term");
                }
                foreach (var (_, child) in o.ToList()) Strip(child);
                break;
            case JsonArray a:
                foreach (var child in a) Strip(child);
                break;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();
}
