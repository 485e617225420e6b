using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Http;

namespace RaftKv.Server.Gateway;

/// <summary>
/// etcd's HTTP/JSON gateway on the client port: <c>POST /v3/...</c> with a JSON request, answered with the JSON of the
/// gRPC reply. As etcd's own gateway does, it calls the member's gRPC services over one loopback HTTP/2 channel, so
/// every rule, limit and error of the gRPC API holds here unchanged. Messages are converted by their descriptors
/// (protojson with the protos' field names, bytes as base64, 64-bit integers as strings, enums as names; unknown fields
/// ignored); nothing here knows a message's fields.
/// </summary>
internal sealed partial class JsonGateway : IDisposable
{
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(static b => b, static b => b);
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true));
    private static readonly byte[] ResultPrefix = "{\"result\":"u8.ToArray();
    private static readonly byte[] ResultSuffix = "}\n"u8.ToArray();

    private readonly GrpcChannel _channel;
    private readonly CallInvoker _invoker;
    private readonly long _maxRequestBytes;
    private readonly ConcurrentDictionary<MethodDescriptor, Method<byte[], byte[]>> _methods = new();

    /// <summary>
    /// A gateway that calls the member's gRPC API at <paramref name="clientUrl"/> (one of its own client URLs), or
    /// through <paramref name="socket"/> when the client port is TLS (see <see cref="Tls.GatewaySocket"/>).
    /// </summary>
    public JsonGateway(Uri clientUrl, long maxRequestBytes, Tls.GatewaySocket? socket = null)
    {
        ArgumentNullException.ThrowIfNull(clientUrl);
        _maxRequestBytes = maxRequestBytes;
        _channel = GrpcChannel.ForAddress(socket is null ? SelfAddress(clientUrl) : new Uri("http://localhost"), new GrpcChannelOptions
        {
            MaxReceiveMessageSize = null, // the server's own replies: their limits were applied where they were made
            MaxSendMessageSize = null,
            HttpHandler = socket?.CreateHandler()
                ?? new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) },
        });
        _invoker = _channel.CreateCallInvoker();
    }

    /// <summary>Answers a gateway request; false when the path is not the gateway's (the next handler runs).</summary>
    public async Task<bool> TryHandleAsync(HttpContext context)
    {
        var path = GatewayRoutes.Normalize(context.Request.Path.Value ?? "");
        if (path is null) return false;
        AddCorsHeaders(context.Response);
        if (HttpMethods.IsOptions(context.Request.Method)) return true;
        if (!GatewayRoutes.ByPath.TryGetValue(path, out var method))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("Not Found\n", context.RequestAborted).ConfigureAwait(false);
            return true;
        }
        if (context.WebSockets.IsWebSocketRequest && method.IsServerStreaming)
        {
            await WebSocketAsync(context, method).ConfigureAwait(false);
            return true;
        }
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return true;
        }
        if (method.IsClientStreaming) await DuplexAsync(context, method).ConfigureAwait(false);
        else if (method.IsServerStreaming) await ServerStreamingAsync(context, method).ConfigureAwait(false);
        else await UnaryAsync(context, method).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc/>
    public void Dispose() => _channel.Dispose();

    private async Task UnaryAsync(HttpContext context, MethodDescriptor method)
    {
        var request = await ReadRequestAsync(context, method).ConfigureAwait(false);
        if (request is null) return;
        byte[] reply;
        try
        {
            reply = await _invoker.AsyncUnaryCall(Method(method), null, Options(context), request).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            await WriteErrorAsync(context, e.StatusCode, e.Status.Detail).ConfigureAwait(false);
            return;
        }
        var json = ToJson(method.OutputType, reply);
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = json.Length;
        await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task ServerStreamingAsync(HttpContext context, MethodDescriptor method)
    {
        var request = await ReadRequestAsync(context, method).ConfigureAwait(false);
        if (request is null) return;
        using var call = _invoker.AsyncServerStreamingCall(Method(method), null, Options(context), request);
        await RelayRepliesAsync(context, method, call.ResponseStream).ConfigureAwait(false);
    }

    private async Task DuplexAsync(HttpContext context, MethodDescriptor method)
    {
        using var call = _invoker.AsyncDuplexStreamingCall(Method(method), null, Options(context));
        await using var requests = JsonObjectReader.ReadAsync(context.Request.BodyReader, _maxRequestBytes, context.RequestAborted).GetAsyncEnumerator(context.RequestAborted);
        // As etcd's gateway does, the first request is read before the reply starts: a body that does not parse is
        // an error status of its own.
        byte[] first;
        try
        {
            if (!await requests.MoveNextAsync().ConfigureAwait(false))
            {
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                await RelayRepliesAsync(context, method, call.ResponseStream).ConfigureAwait(false);
                return;
            }
            first = Parse(method.InputType, requests.Current);
        }
        catch (Exception e) when (IsBadRequest(e))
        {
            await WriteErrorAsync(context, StatusCode.Unknown, Describe(e)).ConfigureAwait(false);
            return;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var pump = PumpRequestsAsync(method, first, requests, call.RequestStream, stop.Token);
        await RelayRepliesAsync(context, method, call.ResponseStream, pump).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await pump.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException or IOException)
        {
            // the call is over; what was left of the body no longer matters
        }
    }

    // Writes the body's requests to the call; a request that does not parse ends the call with InvalidArgument.
    private static async Task PumpRequestsAsync(MethodDescriptor method, byte[] first, IAsyncEnumerator<string> requests, IClientStreamWriter<byte[]> sink, CancellationToken cancellationToken)
    {
        await sink.WriteAsync(first, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            byte[] next;
            try
            {
                if (!await requests.MoveNextAsync().ConfigureAwait(false)) break;
                next = Parse(method.InputType, requests.Current);
            }
            catch (Exception e) when (IsBadRequest(e))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, Describe(e)));
            }
            await sink.WriteAsync(next, cancellationToken).ConfigureAwait(false);
        }
        await sink.CompleteAsync().ConfigureAwait(false);
    }

    // Writes each reply as a line {"result": ...}; a failed call ends the stream with an {"error": ...} line.
    private static async Task RelayRepliesAsync(HttpContext context, MethodDescriptor method, IAsyncStreamReader<byte[]> replies, Task? pump = null)
    {
        var response = context.Response;
        var started = false;
        try
        {
            while (true)
            {
                var next = replies.MoveNext(context.RequestAborted);
                if (pump is not null && !pump.IsCompleted)
                {
                    // A request that fails to parse ends the stream too, even while the server has nothing to say.
                    if (await Task.WhenAny(next, pump).ConfigureAwait(false) == pump && pump.IsFaulted) await pump.ConfigureAwait(false);
                }
                if (!await next.ConfigureAwait(false)) break;
                if (!started) await StartStreamAsync(response).ConfigureAwait(false);
                started = true;
                // One write per line: Kestrel sends each write as its own HTTP chunk, and clients such as etcd3gw
                // parse each chunk as one JSON value (Go's gateway buffers a line and sends it as one chunk on flush).
                await response.Body.WriteAsync(Concat(ResultPrefix, ToJson(method.OutputType, replies.Current), ResultSuffix), context.RequestAborted).ConfigureAwait(false);
                await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (RpcException e) when (!context.RequestAborted.IsCancellationRequested)
        {
            if (!started) response.StatusCode = GatewayErrors.HttpStatus(e.StatusCode);
            if (!started) response.ContentType = "application/json";
            await response.Body.WriteAsync(GatewayErrors.StreamLine(e.StatusCode, e.Status.Detail), context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // the client went away
        }
        if (!started && !response.HasStarted) await StartStreamAsync(response).ConfigureAwait(false);
    }

    private static async Task StartStreamAsync(HttpResponse response)
    {
        if (response.HasStarted) return;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await response.StartAsync().ConfigureAwait(false);
    }

    // The request's protobuf bytes, or null after writing the 400 for a body that is not a valid request.
    private async Task<byte[]?> ReadRequestAsync(HttpContext context, MethodDescriptor method)
    {
        string body;
        try
        {
            body = await ReadBodyAsync(context.Request, _maxRequestBytes, context.RequestAborted).ConfigureAwait(false);
            return Parse(method.InputType, body);
        }
        catch (Exception e) when (IsBadRequest(e))
        {
            await WriteErrorAsync(context, StatusCode.InvalidArgument, Describe(e)).ConfigureAwait(false);
            return null;
        }
    }

    private static async Task<string> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        var reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.Buffer.Length > maxBytes)
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                throw new InvalidDataException($"the request body is larger than the limit of {maxBytes} bytes (--max-request-bytes)");
            }
            if (result.IsCompleted)
            {
                var text = Encoding.UTF8.GetString(result.Buffer);
                reader.AdvanceTo(result.Buffer.End);
                return text;
            }
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    // An empty body is the empty request, as for etcd's gateway.
    internal static byte[] Parse(MessageDescriptor type, string json) =>
        string.IsNullOrWhiteSpace(json) ? [] : Parser.Parse(JsonLargeIntegers.Quote(json), type).ToByteArray();

    // Compact, as Go writes it (the protobuf formatter puts spaces inside braces); '+' and '/' of base64 unescaped.
    private static byte[] ToJson(MessageDescriptor type, byte[] reply)
    {
        using var document = JsonDocument.Parse(Formatter.Format(type.Parser.ParseFrom(reply)));
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(reply.Length * 2 + 64);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            document.WriteTo(writer);
        return buffer.WrittenSpan.ToArray();
    }

    internal static bool IsBadRequest(Exception e) =>
        e is InvalidProtocolBufferException or InvalidJsonException or JsonException or FormatException or InvalidDataException or DecoderFallbackException
            or ArgumentException or OverflowException;

    private static string Describe(Exception e) => e.Message;

    private static async Task WriteErrorAsync(HttpContext context, StatusCode code, string message)
    {
        context.Response.StatusCode = GatewayErrors.HttpStatus(code);
        var body = GatewayErrors.UnaryBody(code, message);
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private Method<byte[], byte[]> Method(MethodDescriptor method) =>
        _methods.GetOrAdd(method, static m => new Method<byte[], byte[]>(
            m.IsClientStreaming ? (m.IsServerStreaming ? MethodType.DuplexStreaming : MethodType.ClientStreaming) : m.IsServerStreaming ? MethodType.ServerStreaming : MethodType.Unary,
            m.Service.FullName, m.Name, Raw, Raw));

    // The caller's token travels as etcd's gateway sends it: the Authorization header as gRPC metadata.
    private static CallOptions Options(HttpContext context)
    {
        Metadata? headers = null;
        if (context.Request.Headers.Authorization is { Count: > 0 } auth && auth.ToString() is { Length: > 0 } token)
            headers = new Metadata { { "authorization", token } };
        return new CallOptions(headers: headers, cancellationToken: context.RequestAborted);
    }

    private static void AddCorsHeaders(HttpResponse response)
    {
        response.Headers.AccessControlAllowOrigin = "*";
        response.Headers.AccessControlAllowMethods = "POST, GET, OPTIONS, PUT, DELETE";
        response.Headers.AccessControlAllowHeaders = "accept, content-type, authorization";
    }

    // A listener on every address is reached on loopback.
    private static Uri SelfAddress(Uri url)
    {
        var host = url.Host.Trim('[', ']');
        var loopback = host switch
        {
            "0.0.0.0" or "*" => "127.0.0.1",
            "::" => "[::1]",
            _ => IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host,
        };
        return new Uri($"http://{loopback}:{url.Port}");
    }
}
