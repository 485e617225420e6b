using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Google.Protobuf.Reflection;
using RaftKv.Fuzz.Tests.Engine;
using RaftKv.Server.Gateway;

namespace RaftKv.Fuzz.Tests.Targets;

/// <summary>
/// The JSON gateway's parsing, called directly. Input: a route byte (one of <see cref="GatewayRoutes.ByPath"/>), a mode
/// byte, then the request body as sent. Mode 0: <c>JsonGateway.Parse</c> (the unary body); mode 1:
/// <see cref="JsonLargeIntegers.Quote"/> alone; mode 2: <see cref="JsonObjectReader"/> splitting a streaming body fed
/// in uneven pieces, then each value parsed.
/// Invariants: Parse throws only what <c>JsonGateway.IsBadRequest</c> turns into a 400 (anything else is a 500 or a
/// reset stream) and its bytes decode as the route's request type; Quote never throws and keeps valid JSON valid;
/// the reader throws only <see cref="JsonException"/> and yields only whole JSON values.
/// </summary>
public sealed class GatewayJsonTarget : IFuzzTarget
{
    private const long MaxValueBytes = 16 * 1024;
    private static readonly string[] Paths = GatewayRoutes.ByPath.Keys.Order(StringComparer.Ordinal).ToArray();

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", "\"", ",", ":", "null", "true", "-", "0", "-0", "1e999999", "1.5e-400", "18446744073709551616",
        "-9223372036854775809", "99999999999999999999999999999999999999", "0x10", "NaN", "\"\\u0000\"", "\"\\ud800\"", "\"\\\"",
        "\"====\"", "\"!!\"", "\"AAAA\"", "\"key\":", "\"range_end\":", "\"lease\":", "\"ID\":", "\"TTL\":", "\"sort_order\":\"NOPE\"",
        "\"sort_order\":99", "\"target\":\"VERSION\"", "\"result\":2147483648", " ", "\u00e9", "\uFFFD", "\t\n",
    ];

    private static readonly (string Path, string Body)[] SeedBodies =
    [
        ("/v3/kv/range", """{"key":"Zm9v","range_end":"Zm9w","limit":10,"revision":"5","sort_order":"DESCEND","sort_target":"MOD","keys_only":true}"""),
        ("/v3/kv/put", """{"key":"a2V5","value":"dmFsdWU=","lease":7587861231287318530,"prev_kv":true}"""),
        ("/v3/kv/deleterange", """{"key":"AA==","range_end":"AA=="}"""),
        ("/v3/kv/txn", """{"compare":[{"key":"Zm9v","result":"EQUAL","target":"VERSION","version":"0"}],"success":[{"request_put":{"key":"Zm9v","value":"YmFy"}}],"failure":[{"request_range":{"key":"Zm9v"}}]}"""),
        ("/v3/kv/compaction", """{"revision":12,"physical":true}"""),
        ("/v3/lease/grant", """{"TTL":60,"ID":611542006080185859}"""),
        ("/v3/lease/revoke", """{"ID":"611542006080185859"}"""),
        ("/v3/watch", """{"create_request":{"key":"Zm9v","range_end":"AA==","start_revision":3,"filters":["NOPUT"],"prev_kv":true}} {"cancel_request":{"watch_id":1}}"""),
        ("/v3/auth/authenticate", """{"name":"root","password":"p\u00e4ss"}"""),
        ("/v3/cluster/member/add", """{"peerURLs":["http://127.0.0.1:2380"],"isLearner":false}"""),
        ("/v3/lock/lock", """{"name":"bG9jaw==","lease":"7587861231287318530"}"""),
        ("/v3/election/campaign", """{"name":"ZWw=","lease":1,"value":"djE="}"""),
    ];

    public string Name => "json";

    public IReadOnlyList<byte[]> Seeds()
    {
        var seeds = new List<byte[]>();
        foreach (var (path, body) in SeedBodies)
        {
            var route = Array.IndexOf(Paths, path);
            if (route < 0) continue; // a route renamed since: the others still seed
            for (byte mode = 0; mode < 3; mode++) seeds.Add([(byte)route, mode, .. Encoding.UTF8.GetBytes(body)]);
        }
        return seeds;
    }

    public byte[] Generate(Random random, IReadOnlyList<byte[]> corpus)
    {
        var input = corpus[random.Next(corpus.Count)];
        if (input.Length < 2 || random.Next(3) == 0) return Mutator.Mutate(random, input, corpus);
        var text = new StringBuilder(Encoding.UTF8.GetString(input.AsSpan(2)));
        var steps = 1 + random.Next(4);
        for (var i = 0; i < steps; i++)
        {
            var at = random.Next(text.Length + 1);
            switch (random.Next(5))
            {
                case 0: // a token at a random place
                    text.Insert(at, Tokens[random.Next(Tokens.Length)]);
                    break;
                case 1: // deep nesting, past the readers' depth limits
                    {
                        var depth = random.Next(2) == 0 ? random.Next(60, 70) : random.Next(100, 2000);
                        var open = random.Next(2) == 0 ? "[" : "{\"a\":";
                        text.Insert(at, string.Concat(Enumerable.Repeat(open, depth)) + "1" + (open == "[" ? new string(']', depth) : new string('}', depth)));
                        break;
                    }
                case 2: // a long run of one character (digits: the long-integer quoting)
                    text.Insert(at, new string("9a\"\\ "[random.Next(5)], random.Next(1, random.Next(2) == 0 ? 40 : 20_000)));
                    break;
                case 3 when text.Length > 0: // erase a range
                    text.Remove(Math.Min(at, text.Length - 1), Math.Min(random.Next(1, 16), text.Length - Math.Min(at, text.Length - 1)));
                    break;
                default: // the body repeated (a stream of values)
                    text.Append(' ').Append(text);
                    break;
            }
        }
        var body = Encoding.UTF8.GetBytes(text.ToString());
        return [(byte)random.Next(Paths.Length), (byte)random.Next(3), .. body.AsSpan(0, Math.Min(body.Length, Mutator.MaxInputBytes))];
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2) return;
        var method = GatewayRoutes.ByPath[Paths[input[0] % Paths.Length]];
        var body = input[2..];
        switch (input[1] % 3)
        {
            case 0:
                ParseBody(method.InputType, Encoding.UTF8.GetString(body));
                break;
            case 1:
                QuoteBody(Encoding.UTF8.GetString(body));
                break;
            default:
                ReadStream(method.InputType, body.ToArray());
                break;
        }
    }

    private static void ParseBody(MessageDescriptor type, string json)
    {
        byte[] request;
        try
        {
            request = JsonGateway.Parse(type, json);
        }
        catch (Exception e) when (JsonGateway.IsBadRequest(e))
        {
            Outcomes.Note($"parse: 400 ({e.GetType().Name})");
            return;
        }
        type.Parser.ParseFrom(request); // the request the gRPC service will decode
        Outcomes.Note("parse: accepted");
    }

    private static void QuoteBody(string json)
    {
        var quoted = JsonLargeIntegers.Quote(json);
        if (!IsJson(json))
        {
            Outcomes.Note("quote: not JSON");
            return;
        }
        if (!IsJson(quoted)) throw new FuzzFindingException($"Quote turned valid JSON into invalid JSON: {Clip(json)} -> {Clip(quoted)}");
        Outcomes.Note(ReferenceEquals(quoted, json) ? "quote: unchanged" : "quote: quoted");
    }

    private static void ReadStream(MessageDescriptor type, byte[] body)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        // Uneven pieces, each flushed (the reader sees the body arrive bit by bit), split by the input itself so that
        // a replay splits it the same way.
        var split = new Random(body.Length == 0 ? 0 : body[^1] * 31 + body.Length);
        var writer = Task.Run(async () =>
        {
            for (var at = 0; at < body.Length;)
            {
                var n = Math.Min(body.Length - at, 1 + split.Next(64));
                await pipe.Writer.WriteAsync(body.AsMemory(at, n)).ConfigureAwait(false);
                at += n;
            }
            await pipe.Writer.CompleteAsync().ConfigureAwait(false);
        });
        var values = 0;
        try
        {
            var reader = JsonObjectReader.ReadAsync(pipe.Reader, MaxValueBytes, CancellationToken.None).GetAsyncEnumerator();
            while (reader.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                var value = reader.Current;
                if (!IsJson(value)) throw new FuzzFindingException($"the stream reader yielded {Clip(value)}, which is not one JSON value");
                if (Encoding.UTF8.GetByteCount(value) > MaxValueBytes) throw new FuzzFindingException($"the stream reader yielded a value over its {MaxValueBytes}-byte limit");
                ParseBody(type, value);
                values++;
            }
        }
        catch (JsonException)
        {
            Outcomes.Note("stream: ended by JsonException");
            return;
        }
        finally
        {
            pipe.Reader.Complete();
            writer.GetAwaiter().GetResult();
        }
        Outcomes.Note(values == 0 ? "stream: empty" : "stream: values");
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Clip(string s) => s.Length <= 120 ? s : s[..120] + "...";
}
