using System.Buffers;
using System.Net.WebSockets;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace RaftKv.Server.Gateway;

/// <summary>
/// Streaming calls over a websocket, as etcd's gateway also serves them (for browsers, which cannot stream a request
/// body): each text message the client sends is one JSON request, each reply is one text message
/// <c>{"result": ...}</c>, and a failed call sends <c>{"error": ...}</c> and closes.
/// </summary>
internal sealed partial class JsonGateway
{
    private async Task WebSocketAsync(HttpContext context, MethodDescriptor method)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var options = Options(context).WithCancellationToken(stop.Token);
        Task pump;
        IAsyncStreamReader<byte[]> replies;
        IDisposable call;
        if (method.IsClientStreaming)
        {
            var duplex = _invoker.AsyncDuplexStreamingCall(Method(method), null, options);
            (call, replies) = (duplex, duplex.ResponseStream);
            pump = ReceiveRequestsAsync(socket, method, duplex.RequestStream, stop.Token);
        }
        else
        {
            // One request, then replies: the first message is the request.
            var request = await ReceiveMessageAsync(socket, stop.Token).ConfigureAwait(false);
            if (request is null) return;
            byte[] parsed;
            try
            {
                parsed = Parse(method.InputType, request);
            }
            catch (Exception e) when (IsBadRequest(e))
            {
                await CloseWithErrorAsync(socket, StatusCode.InvalidArgument, Describe(e), stop.Token).ConfigureAwait(false);
                return;
            }
            var streaming = _invoker.AsyncServerStreamingCall(Method(method), null, options, parsed);
            (call, replies) = (streaming, streaming.ResponseStream);
            pump = Task.CompletedTask;
        }
        using (call)
        {
            try
            {
                while (await replies.MoveNext(stop.Token).ConfigureAwait(false))
                {
                    var line = Concat(ResultPrefix, ToJson(method.OutputType, replies.Current), ResultSuffix.AsSpan(0, 1));
                    await socket.SendAsync(line, WebSocketMessageType.Text, true, stop.Token).ConfigureAwait(false);
                }
                if (socket.State == WebSocketState.Open)
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, stop.Token).ConfigureAwait(false);
            }
            catch (RpcException e) when (!stop.IsCancellationRequested)
            {
                await CloseWithErrorAsync(socket, e.StatusCode, e.Status.Detail, stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException)
            {
                // the client went away
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                try
                {
                    await pump.ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or WebSocketException or RpcException or IOException)
                {
                    // the call is over
                }
            }
        }
    }

    private async Task ReceiveRequestsAsync(WebSocket socket, MethodDescriptor method, IClientStreamWriter<byte[]> sink, CancellationToken cancellationToken)
    {
        while (await ReceiveMessageAsync(socket, cancellationToken).ConfigureAwait(false) is { } text)
        {
            byte[] request;
            try
            {
                request = Parse(method.InputType, text);
            }
            catch (Exception e) when (IsBadRequest(e))
            {
                await CloseWithErrorAsync(socket, StatusCode.InvalidArgument, Describe(e), cancellationToken).ConfigureAwait(false);
                return;
            }
            await sink.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        }
        await sink.CompleteAsync().ConfigureAwait(false);
    }

    // One whole text message, at most the request limit; null when the client closed.
    private async Task<string?> ReceiveMessageAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var result = await socket.ReceiveAsync(memory, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            buffer.Advance(result.Count);
            if (buffer.WrittenCount > _maxRequestBytes)
            {
                await CloseWithErrorAsync(socket, StatusCode.InvalidArgument, $"a request is larger than the limit of {_maxRequestBytes} bytes (--max-request-bytes)", cancellationToken).ConfigureAwait(false);
                return null;
            }
            if (result.EndOfMessage) return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
    }

    private static async Task CloseWithErrorAsync(WebSocket socket, StatusCode code, string message, CancellationToken cancellationToken)
    {
        if (socket.State != WebSocketState.Open) return;
        var line = GatewayErrors.StreamLine(code, message);
        await socket.SendAsync(line.AsMemory(0, line.Length - 1), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken).ConfigureAwait(false);
    }

    private static byte[] Concat(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c)
    {
        var all = new byte[a.Length + b.Length + c.Length];
        a.CopyTo(all);
        b.CopyTo(all.AsSpan(a.Length));
        c.CopyTo(all.AsSpan(a.Length + b.Length));
        return all;
    }
}
