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
            await ReadBatchesAsync(requestStream, summary, context, stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The peer went away or this server is stopping: the normal end of a stream.
        }
        return summary;
    }

    private async Task ReadBatchesAsync(IAsyncStreamReader<MessageBatch> requestStream, StreamSummary summary, ServerCallContext context,
        CancellationToken cancellationToken)
    {
        await foreach (var batch in requestStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            CheckIdentity(batch.ClusterId, batch.To, batch.From, context);
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
        ArgumentNullException.ThrowIfNull(context);
        if (request.ClusterId != 0) CheckIdentity(request.ClusterId, request.To, request.From, context);
        return Task.FromResult(new PingReply { ClusterId = transport.Options.ClusterId, MemberId = transport.Options.LocalId });
    }

    // A refusal is logged here, on the receiving member, as well as returned to the sender: an operator sees a member
    // of another cluster (or a stale one, after a member was replaced) knocking. The sender's reconnect backoff bounds
    // how often.
    private void CheckIdentity(ulong clusterId, ulong to, ulong from, ServerCallContext context)
    {
        try
        {
            transport.CheckIdentity(clusterId, to);
        }
        catch (RpcException e)
        {
            LogRefused(logger, from, context.Peer, e.Status.Detail);
            throw;
        }
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "dropped a malformed message from {From}: {Reason}")]
    private static partial void LogMalformed(ILogger logger, ulong from, string reason);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "refused a peer call from member {From:x16} at {Address}: {Reason}")]
    private static partial void LogRefused(ILogger logger, ulong from, string address, string reason);
}
