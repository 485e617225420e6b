using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport;

/// <summary>The inbound side: receives message batches and snapshots (see <see cref="SnapshotReceiver"/>) from peers and hands them to the host.</summary>
public sealed partial class RaftPeerService(GrpcTransport transport, IHostApplicationLifetime lifetime, ILogger<RaftPeerService> logger) : RaftPeer.RaftPeerBase
{
    /// <inheritdoc />
    public override async Task<StreamSummary> Stream(IAsyncStreamReader<MessageBatch> requestStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(context);
        var summary = new StreamSummary();
        // Peer streams never end on their own: end them when the server stops, or shutdown waits for them.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await ReadBatchesAsync(requestStream, summary, stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The peer went away or this server is stopping: the normal end of a stream.
        }
        return summary;
    }

    private async Task ReadBatchesAsync(IAsyncStreamReader<MessageBatch> requestStream, StreamSummary summary, CancellationToken cancellationToken)
    {
        await foreach (var batch in requestStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            CheckIdentity(batch.ClusterId, batch.To);
            var inbox = transport.Inbox;
            summary.Batches++;
            foreach (var wire in batch.Messages)
            {
                summary.Messages++;
                if (inbox is null) continue; // not started yet: like a lost message
                Message message;
                try
                {
                    message = MessageCodec.FromWire(wire);
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException)
                {
                    LogMalformed(logger, wire.From, e.Message);
                    continue;
                }
                if (message.To != transport.Options.LocalId || message.From != batch.From) continue;
                inbox.TryDeliver(message);
            }
        }
    }

    /// <inheritdoc />
    public override async Task<SnapshotReply> InstallSnapshot(IAsyncStreamReader<SnapshotChunk> requestStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(context);
        // A payload may take long to stage: end the call (and cancel AcceptPayload) when the server stops, too.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        return await transport.Snapshots.ReceiveAsync(requestStream, logger, stopping.Token).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task<PingReply> Ping(PingRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ClusterId != 0) CheckIdentity(request.ClusterId, request.To);
        var reply = new PingReply { ClusterId = transport.Options.ClusterId, MemberId = transport.Options.LocalId, Name = transport.Options.LocalName };
        reply.ClientUrls.AddRange(transport.Options.LocalClientUrls);
        return Task.FromResult(reply);
    }

    /// <inheritdoc />
    public override async Task<ForwardReply> Forward(ForwardRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        CheckIdentity(request.ClusterId, request.To);
        var handler = transport.ForwardHandler
            ?? throw new RpcException(new Status(StatusCode.Unavailable, "this member does not accept forwarded requests yet"));
        var result = await handler(request.Payload.Memory, context.CancellationToken).ConfigureAwait(false);
        return new ForwardReply { Payload = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(result) };
    }

    private void CheckIdentity(ulong clusterId, ulong to) => transport.CheckIdentity(clusterId, to);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "dropped a malformed message from {From}: {Reason}")]
    private static partial void LogMalformed(ILogger logger, ulong from, string reason);
}
