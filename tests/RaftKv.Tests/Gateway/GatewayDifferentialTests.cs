using System.Text.Json.Nodes;
using dotnet_etcd;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests.Gateway;

/// <summary>
/// The same JSON requests to a real etcd 3.4's gateway (Debian etcd-server) and to raftkv's, on a fresh single-member
/// cluster each: KV calls, txn with enums by name and by number, leases, the legacy prefix, and bad input (malformed
/// JSON, wrong types, unknown fields, missing keys, an unknown path, a wrong method). Answers must be equal but for the
/// servers' ids and term. Where etcd's text is Go's own parser message ("invalid character 'b' ..."), status, code and
/// the body's shape are compared instead.
/// </summary>
public sealed class GatewayDifferentialTests(ITestOutputHelper output)
{
    private enum Compare
    {
        Exactly,
        Shape, // status, code and keys: the parser's wording is the language's own
        Status,
    }

    private static readonly (string Name, string Path, string? Body, Compare How, string Method)[] Script =
    [
        ("put foo=bar", "/v3/kv/put", """{"key":"Zm9v","value":"YmFy"}""", Compare.Exactly, "POST"),
        ("put with prev_kv", "/v3/kv/put", """{"key":"Zm9v","value":"YmF6","prev_kv":true}""", Compare.Exactly, "POST"),
        ("range foo", "/v3/kv/range", """{"key":"Zm9v"}""", Compare.Exactly, "POST"),
        ("an unknown field is ignored", "/v3/kv/range", """{"key":"Zm9v","unknown":1,"nested":{"a":[1,2]}}""", Compare.Exactly, "POST"),
        ("camelCase names are accepted", "/v3/kv/range", """{"key":"Zm9v","keysOnly":true}""", Compare.Exactly, "POST"),
        ("a prefix with count_only", "/v3/kv/range", """{"key":"Zg==","range_end":"Zw==","count_only":true}""", Compare.Exactly, "POST"),
        ("64-bit integers as numbers", "/v3/kv/range", """{"key":"Zm9v","limit":5,"revision":2}""", Compare.Exactly, "POST"),
        ("enums by name", "/v3/kv/range", """{"key":"AA==","range_end":"AA==","sort_order":"DESCEND","sort_target":"MOD"}""", Compare.Exactly, "POST"),
        ("enums by number", "/v3/kv/range", """{"key":"AA==","range_end":"AA==","sort_order":2,"sort_target":2}""", Compare.Exactly, "POST"),
        ("malformed JSON", "/v3/kv/range", """{bad json""", Compare.Shape, "POST"),
        ("a number where bytes go", "/v3/kv/range", """{"key":123}""", Compare.Shape, "POST"),
        ("a string that is not a number", "/v3/kv/range", """{"key":"Zm9v","limit":"abc"}""", Compare.Shape, "POST"),
        ("bytes that are not base64", "/v3/kv/range", """{"key":"not base64!"}""", Compare.Shape, "POST"),
        ("an array instead of an object", "/v3/kv/range", """[1,2]""", Compare.Shape, "POST"),
        ("an empty body: the key is missing", "/v3/kv/range", "", Compare.Exactly, "POST"),
        ("a put without a key", "/v3/kv/put", "{}", Compare.Exactly, "POST"),
        ("a future revision", "/v3/kv/range", """{"key":"Zm9v","revision":"100"}""", Compare.Exactly, "POST"),
        ("txn with enums by name", "/v3/kv/txn",
            """{"compare":[{"key":"Zm9v","result":"EQUAL","target":"VALUE","value":"YmF6"}],"success":[{"request_put":{"key":"YQ==","value":"MQ=="}},{"request_range":{"key":"Zm9v"}}],"failure":[{"request_delete_range":{"key":"Zm9v"}}]}""",
            Compare.Exactly, "POST"),
        ("txn with enums by number, failing", "/v3/kv/txn",
            """{"compare":[{"key":"Zm9v","result":0,"target":1,"create_revision":"99"}],"success":[],"failure":[{"request_range":{"key":"YQ=="}}]}""",
            Compare.Exactly, "POST"),
        ("txn with a duplicate key", "/v3/kv/txn", """{"success":[{"request_put":{"key":"YQ=="}},{"request_put":{"key":"YQ=="}}]}""", Compare.Exactly, "POST"),
        ("delete a with prev_kv", "/v3/kv/deleterange", """{"key":"YQ==","prev_kv":true}""", Compare.Exactly, "POST"),
        ("compact at a future revision", "/v3/kv/compaction", """{"revision":"100"}""", Compare.Exactly, "POST"),
        ("compact at 2", "/v3/kv/compaction", """{"revision":"2","physical":true}""", Compare.Exactly, "POST"),
        ("read a compacted revision", "/v3/kv/range", """{"key":"Zm9v","revision":"1"}""", Compare.Exactly, "POST"),
        ("the v3beta prefix", "/v3beta/kv/range", """{"key":"Zm9v"}""", Compare.Exactly, "POST"),
        ("grant lease 12345", "/v3/lease/grant", """{"ID":"12345","TTL":"60"}""", Compare.Exactly, "POST"),
        ("grant it again", "/v3/lease/grant", """{"ID":12345,"TTL":60}""", Compare.Exactly, "POST"),
        ("put with the lease", "/v3/kv/put", """{"key":"bA==","value":"MQ==","lease":"12345"}""", Compare.Exactly, "POST"),
        ("put with an unknown lease", "/v3/kv/put", """{"key":"bA==","value":"MQ==","lease":"999"}""", Compare.Exactly, "POST"),
        ("revoke an unknown lease", "/v3/lease/revoke", """{"ID":"5"}""", Compare.Exactly, "POST"),
        ("time to live of an unknown lease", "/v3/kv/lease/timetolive", """{"ID":"5"}""", Compare.Exactly, "POST"),
        ("revoke lease 12345", "/v3/kv/lease/revoke", """{"ID":"12345"}""", Compare.Exactly, "POST"),
        ("the leased key is gone", "/v3/kv/range", """{"key":"bA=="}""", Compare.Exactly, "POST"),
        // etcd 3.4 answers an alarm list with a header without revision; raftkv's has one (its gRPC answer too).
        ("alarm list", "/v3/maintenance/alarm", """{"action":"GET"}""", Compare.Status, "POST"),
        ("an unknown path", "/v3/kv/nothere", "{}", Compare.Status, "POST"),
        ("GET where POST is meant", "/v3/kv/range", null, Compare.Status, "GET"),
        ("an OPTIONS preflight", "/v3/kv/range", null, Compare.Status, "OPTIONS"),
    ];

    private static async Task<List<string>> RunAsync(string url)
    {
        using var client = new GatewayClient(url);
        var record = new List<string>();
        foreach (var (name, path, body, how, method) in Script)
        {
            var (status, text) = await client.PostAsync(path, body, method);
            record.Add($"{name}: {status} " + how switch
            {
                Compare.Exactly => GatewayClient.Normalize(text),
                Compare.Shape => Shape(text),
                _ => "",
            });
        }
        return record;
    }

    // The error body's keys, its code, and whether error and message agree.
    private static string Shape(string text)
    {
        var node = JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"not a JSON object: {text}");
        var keys = string.Join(",", node.Select(p => p.Key).Order(StringComparer.Ordinal));
        return $"keys {keys} code {node["code"]} error=message {(string?)node["error"] == (string?)node["message"]}";
    }

    [EtcdServerFact]
    public async Task The_same_JSON_requests_get_the_same_answers_as_etcds_gateway()
    {
        await using var etcd = EtcdProcess.Start();
        await using var cluster = ProcessCluster.Create(1);
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        using (var reference = new EtcdClient(etcd.ClientUrl)) await Differential.WaitForEtcdAsync(etcd, reference);

        var expected = await RunAsync(etcd.ClientUrl);
        var actual = await RunAsync(cluster.Members[0].ClientUrl);
        output.WriteLine(string.Join("\n", expected));
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var e = i < expected.Count ? expected[i] : "(nothing)";
            var a = i < actual.Count ? actual[i] : "(nothing)";
            Assert.True(e == a, $"step {i}: etcd said\n  {e}\nraftkv said\n  {a}\n\nraftkv's whole record:\n{string.Join("\n", actual)}");
        }
    }

    [EtcdServerFact]
    public async Task A_watch_and_a_keepalive_stream_the_same_lines_as_etcds_gateway()
    {
        await using var etcd = EtcdProcess.Start();
        await using var cluster = ProcessCluster.Create(1);
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        using (var reference = new EtcdClient(etcd.ClientUrl)) await Differential.WaitForEtcdAsync(etcd, reference);

        async Task<List<string>> Run(string url)
        {
            using var client = new GatewayClient(url);
            await client.PostAsync("/v3/kv/put", """{"key":"Zm9v","value":"YmFy"}""");
            await client.PostAsync("/v3/kv/put", """{"key":"Zm9v","value":"YmF6"}""");
            var record = new List<string>();
            // Two watchers on one stream, replaying history: foo with prev_kv from revision 3, every key from 1.
            var watch = await client.StreamAsync("/v3/watch",
                """{"create_request":{"key":"Zm9v","prev_kv":true,"start_revision":"3"}} {"create_request":{"key":"AA==","range_end":"AA==","start_revision":"1"}}""",
                lines: 4);
            // etcd's goroutines interleave the two watchers' lines: compare each watcher's lines in order.
            record.AddRange(watch.Select(GatewayClient.Normalize).GroupBy(WatchId).OrderBy(g => g.Key, StringComparer.Ordinal).SelectMany(g => g));
            await client.PostAsync("/v3/lease/grant", """{"ID":"777","TTL":"60"}""");
            record.AddRange((await client.StreamAsync("/v3/lease/keepalive", """{"ID":"777"}""", lines: 1)).Select(GatewayClient.Normalize));
            record.AddRange((await client.StreamAsync("/v3/lease/keepalive", """{"ID":"778"}""", lines: 1)).Select(GatewayClient.Normalize));
            var (status, text) = await client.PostAsync("/v3/watch", "{bad");
            record.Add($"a malformed first request: {status} {Shape(text)}");
            return record;
        }

        var expected = await Run(etcd.ClientUrl);
        var actual = await Run(cluster.Members[0].ClientUrl);
        output.WriteLine(string.Join("\n", expected));
        Assert.Equal(expected, actual);
    }

    // A line that is not JSON (StreamAsync's "timed out" marker) sorts after every watcher's lines.
    private static string WatchId(string line) => line.StartsWith('{') ? (string?)JsonNode.Parse(line)?["result"]?["watch_id"] ?? "0" : "~";
}
