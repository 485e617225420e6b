using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Raft;
using RaftKv.Server;

namespace RaftKv.Http.Api;

/// <summary>
/// <c>/v1/kv/{key}</c>: GET (<c>?consistency=linearizable|serializable</c>, <c>?prefix=true</c>, <c>?limit=N</c>),
/// PUT (the body is the value) and DELETE (<c>?prefix=true</c>), through the same Raft proposals and read barriers as
/// the etcd API. The key is the rest of the path, percent-decoded (so <c>%2F</c> is a slash inside a key). Every
/// answer names the store revision and the leader.
/// </summary>
public static class KvApi
{
    /// <summary>The route prefix.</summary>
    public const string Prefix = "/v1/kv";

    /// <summary>Most keys one GET returns (also the default limit).</summary>
    public const long MaxLimit = 10_000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly string[] GetParameters = ["consistency", "prefix", "limit"];
    private static readonly string[] DeleteParameters = ["prefix"];

    /// <summary>Maps the routes.</summary>
    public static void Map(IEndpointRouteBuilder app, NodeContext node)
    {
        foreach (var pattern in new[] { Prefix, Prefix + "/{**key}" })
        {
            app.MapGet(pattern, (Func<HttpContext, Task<IResult>>)(context => GetAsync(context, node)));
            app.MapPut(pattern, (Func<HttpContext, Task<IResult>>)(context => PutAsync(context, node)));
            app.MapDelete(pattern, (Func<HttpContext, Task<IResult>>)(context => DeleteAsync(context, node)));
        }
    }

    private static async Task<IResult> GetAsync(HttpContext context, NodeContext node)
    {
        if (Unknown(context, GetParameters) is { } unknown) return unknown;
        var key = KeyOf(context);
        if (!TryFlag(context, "prefix", out var prefix, out var bad)) return bad;
        var consistency = context.Request.Query["consistency"].ToString();
        if (consistency.Length == 0) consistency = "linearizable";
        if (consistency is not ("linearizable" or "serializable"))
            return ApiError.Reply(400, $"consistency must be linearizable or serializable, was '{consistency}'");
        var limit = MaxLimit;
        var limitText = context.Request.Query["limit"].ToString();
        if (limitText.Length > 0 && (!long.TryParse(limitText, out limit) || limit < 1 || limit > MaxLimit))
            return ApiError.Reply(400, $"limit must be a number from 1 to {MaxLimit}, was '{limitText}'");
        if (key.Length == 0 && !prefix) return ApiError.Reply(400, "give a key (/v1/kv/{key}), or list keys with ?prefix=true");

        var request = Request(key, prefix);
        var range = new RangeRequest { Key = request.Key, RangeEnd = request.End, Limit = limit, Serializable = consistency == "serializable" };
        try
        {
            if (!range.Serializable) await node.Proposer.ReadBarrierAsync(context.RequestAborted).ConfigureAwait(false);
            var response = node.Machine.Store.Range(range);
            var (leader, member) = Who(node);
            if (!prefix && response.Kvs.Count == 0)
                return Results.Json(new KeyNotFoundReply($"key '{key}' not found", response.Header?.Revision ?? node.Machine.Store.Revision, leader, member), statusCode: 404);
            return Results.Json(new RangeReply(response.Header?.Revision ?? node.Machine.Store.Revision, leader, member, consistency,
                response.Kvs.Select(Item).ToArray(), response.Count, response.More));
        }
        catch (RpcException e)
        {
            return FromRpc(e);
        }
        catch (KvException e)
        {
            return FromRpc(new RpcException(new Status(e.Error.Code, e.Error.Message)));
        }
    }

    private static async Task<IResult> PutAsync(HttpContext context, NodeContext node)
    {
        if (Unknown(context, []) is { } unknown) return unknown;
        var key = KeyOf(context);
        if (key.Length == 0) return ApiError.Reply(400, "give a key: PUT /v1/kv/{key} with the value as the body");
        var max = node.Settings.MaxRequestBytes;
        var value = await ReadBodyAsync(context.Request, max, context.RequestAborted).ConfigureAwait(false);
        if (value is null) return ApiError.Reply(413, $"the value is larger than --max-request-bytes ({max} bytes)");
        try
        {
            var command = new KvCommand { Put = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = UnsafeByteOperations.UnsafeWrap(value) } };
            var response = (PutResponse)await node.Proposer.ProposeAsync(command, PutResponse.Parser, context.RequestAborted).ConfigureAwait(false);
            var (leader, member) = Who(node);
            return Results.Json(new WriteReply(response.Header?.Revision ?? node.Machine.Store.Revision, leader, member, null));
        }
        catch (RpcException e)
        {
            return FromRpc(e);
        }
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, NodeContext node)
    {
        if (Unknown(context, DeleteParameters) is { } unknown) return unknown;
        var key = KeyOf(context);
        if (!TryFlag(context, "prefix", out var prefix, out var bad)) return bad;
        if (key.Length == 0 && !prefix) return ApiError.Reply(400, "give a key (/v1/kv/{key}), or delete every key with ?prefix=true");
        var request = Request(key, prefix);
        try
        {
            var command = new KvCommand { DeleteRange = new DeleteRangeRequest { Key = request.Key, RangeEnd = request.End } };
            var response = (DeleteRangeResponse)await node.Proposer.ProposeAsync(command, DeleteRangeResponse.Parser, context.RequestAborted).ConfigureAwait(false);
            var (leader, member) = Who(node);
            return Results.Json(new WriteReply(response.Header?.Revision ?? node.Machine.Store.Revision, leader, member, response.Deleted));
        }
        catch (RpcException e)
        {
            return FromRpc(e);
        }
    }

    /// <summary>The key: the raw path after /v1/kv/, percent-decoded.</summary>
    private static string KeyOf(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0) raw = raw[..query];
        raw = raw.Length > Prefix.Length ? raw[(Prefix.Length + 1)..] : "";
        return Uri.UnescapeDataString(raw);
    }

    private static (ByteString Key, ByteString End) Request(string key, bool prefix)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        if (!prefix) return (ByteString.CopyFrom(bytes), ByteString.Empty);
        if (bytes.Length == 0) return (ByteString.CopyFrom(0), ByteString.CopyFrom(0)); // every key
        return (ByteString.CopyFrom(bytes), ByteString.CopyFrom(PrefixEnd(bytes)));
    }

    /// <summary>The smallest key above every key starting with <paramref name="prefix"/> (etcd's GetPrefixRangeEnd).</summary>
    private static byte[] PrefixEnd(byte[] prefix)
    {
        for (var i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] < 0xff)
            {
                var end = prefix[..(i + 1)];
                end[i]++;
                return end;
            }
        }
        return [0]; // all 0xff: no upper bound
    }

    private static IResult? Unknown(HttpContext context, string[] allowed)
    {
        var unknown = context.Request.Query.Keys.FirstOrDefault(k => !allowed.Contains(k, StringComparer.Ordinal));
        if (unknown is null) return null;
        var verb = context.Request.Method;
        return ApiError.Reply(400, allowed.Length == 0
            ? $"{verb} {Prefix}/{{key}} takes no query parameters, got '{unknown}'"
            : $"unknown query parameter '{unknown}' for {verb} (allowed: {string.Join(", ", allowed)})");
    }

    private static bool TryFlag(HttpContext context, string name, out bool value, out IResult error)
    {
        error = null!;
        value = false;
        if (!context.Request.Query.TryGetValue(name, out var values)) return true;
        switch (values.ToString())
        {
            case "" or "true" or "1":
                value = true;
                return true;
            case "false" or "0":
                return true;
            default:
                error = ApiError.Reply(400, $"{name} must be true or false, was '{values}'");
                return false;
        }
    }

    /// <summary>Reads the whole body, or returns null when it is longer than <paramref name="max"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, long max, CancellationToken cancellationToken)
    {
        if (request.ContentLength > max) return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static (string Leader, string Member) Who(NodeContext node)
    {
        var leader = node.Status?.Leader ?? RaftNode.None;
        return (leader == RaftNode.None ? "" : node.NameOf(leader), node.Settings.Name);
    }

    private static KvItem Item(Etcd.Api.Mvccpb.KeyValue kv)
    {
        string? text;
        try
        {
            text = StrictUtf8.GetString(kv.Value.Span);
        }
        catch (DecoderFallbackException)
        {
            text = null;
        }
        return new KvItem(kv.Key.ToStringUtf8(), text, text is null ? kv.Value.ToBase64() : null, kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease);
    }

    /// <summary>An etcd error as an HTTP status with its message.</summary>
    public static IResult FromRpc(RpcException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var status = e.StatusCode switch
        {
            StatusCode.InvalidArgument or StatusCode.OutOfRange => 400,
            StatusCode.NotFound => 404,
            StatusCode.FailedPrecondition => 409,
            StatusCode.ResourceExhausted => 507,
            StatusCode.Unimplemented => 501,
            StatusCode.Unavailable => 503,
            StatusCode.DeadlineExceeded => 504,
            StatusCode.Cancelled => 499,
            _ => 500,
        };
        return ApiError.Reply(status, e.Status.Detail);
    }
}

/// <summary>A key and its value; <c>value</c> is text when it is valid UTF-8, otherwise <c>valueBase64</c> holds it.</summary>
public sealed record KvItem(string Key, string? Value, string? ValueBase64, long CreateRevision, long ModRevision, long Version, long Lease);

/// <summary>GET's answer.</summary>
public sealed record RangeReply(long Revision, string Leader, string Member, string Consistency, IReadOnlyList<KvItem> Kvs, long Count, bool More);

/// <summary>PUT's and DELETE's answer (<c>deleted</c> only for DELETE).</summary>
public sealed record WriteReply(long Revision, string Leader, string Member, long? Deleted);

/// <summary>GET of a missing key (404).</summary>
public sealed record KeyNotFoundReply(string Error, long Revision, string Leader, string Member);
