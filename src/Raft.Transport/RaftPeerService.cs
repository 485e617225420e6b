using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport;

/// <summary>The inbound side: receives message batches and snapshot chunks from peers and hands them to the host.</summary>
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
        RaftMessage? header = null;
        byte[]? data = null;
        var received = 0L;
        await foreach (var chunk in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            if (header is null)
            {
                header = chunk.Message ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "first snapshot chunk carries no message"));
                CheckIdentity(chunk.ClusterId, header.To);
                var total = (long)(header.Snapshot?.DataBytes ?? 0);
                if (total > transport.Options.MaxSnapshotBytes || total > Array.MaxLength)
                    return new SnapshotReply { Accepted = false, Error = $"snapshot of {total} bytes exceeds the limit of {transport.Options.MaxSnapshotBytes}" };
                data = GC.AllocateUninitializedArray<byte>((int)total);
            }
            if (received + chunk.Data.Length > data!.Length)
                return new SnapshotReply { Accepted = false, Error = "snapshot data longer than announced" };
            chunk.Data.Span.CopyTo(data.AsSpan((int)received));
            received += chunk.Data.Length;
        }
        if (header is null) return new SnapshotReply { Accepted = false, Error = "empty snapshot stream" };
        Message message;
        try
        {
            message = MessageCodec.FromWire(header, data.AsMemory(0, (int)received));
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            return new SnapshotReply { Accepted = false, Error = e.Message };
        }
        var inbox = transport.Inbox;
        if (inbox is null || !inbox.TryDeliver(message)) return new SnapshotReply { Accepted = false, Error = "receiver is busy" };
        return new SnapshotReply { Accepted = true };
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

    private void CheckIdentity(ulong clusterId, ulong to)
    {
        if (clusterId != transport.Options.ClusterId)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"cluster id mismatch: this member belongs to cluster {transport.Options.ClusterId:x16}, the sender to {clusterId:x16}"));
        if (to != transport.Options.LocalId)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"member id mismatch: this is member {transport.Options.LocalId:x16}, the sender addressed {to:x16}"));
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "dropped a malformed message from {From}: {Reason}")]
    private static partial void LogMalformed(ILogger logger, ulong from, string reason);
}
