using System.Text;
using System.Text.Json;

namespace RaftKv.Tests.Http;

/// <summary>Small helpers for raw HTTP calls whose status and JSON body the tests check.</summary>
public static class HttpJson
{
    public static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(15) };

    public static async Task<(int Status, JsonElement Body, string Text)> SendAsync(HttpMethod method, string url, string? body = null,
        IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "text/plain");
        if (headers is not null) foreach (var (k, v) in headers) request.Headers.TryAddWithoutValidation(k, v);
        using var response = await Client.SendAsync(request).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        JsonElement json = default;
        if (text.Length > 0 && (text[0] == '{' || text[0] == '['))
        {
            using var doc = JsonDocument.Parse(text);
            json = doc.RootElement.Clone();
        }
        return ((int)response.StatusCode, json, text);
    }

    public static Task<(int Status, JsonElement Body, string Text)> GetAsync(string url) => SendAsync(HttpMethod.Get, url);

    public static Task<(int Status, JsonElement Body, string Text)> PutAsync(string url, string body) => SendAsync(HttpMethod.Put, url, body);

    public static Task<(int Status, JsonElement Body, string Text)> DeleteAsync(string url) => SendAsync(HttpMethod.Delete, url);

    public static Task<(int Status, JsonElement Body, string Text)> PostAsync(string url) => SendAsync(HttpMethod.Post, url, "");

    public static string Str(this JsonElement e, string property) => e.GetProperty(property).GetString()!;

    public static long Num(this JsonElement e, string property) => e.GetProperty(property).GetInt64();
}
