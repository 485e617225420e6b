using Grpc.Core;
using Microsoft.Extensions.Logging;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Storage.Files;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport;

/// <summary>
/// The receiving side of InstallSnapshot (format in raft_peer.proto): checks every chunk (checksum, order, limits,
/// the trailer's total) and hands the body either to a buffer (data inline) or, chunk by chunk, to
/// <see cref="ISnapshotPayloads.AcceptPayload"/> (a payload); only then is the Raft message handed to the host.
/// </summary>
/// <remarks>One per transport (gRPC creates a service object per call). Accepts one payload at a time.</remarks>
internal sealed partial class SnapshotReceiver(GrpcTransport transport)
{
    // 1 while a payload is being accepted: a second transfer is refused rather than queued behind it.
    private int _accepting;

    private TransportOptions Options => transport.Options;

    /// <summary>Receives one snapshot call; the reply says whether the message reached the host, or why not.</summary>
    /// <exception cref="RpcException">The first chunk is malformed or addressed to another member or cluster.</exception>
    public async Task<SnapshotReply> ReceiveAsync(IAsyncStreamReader<SnapshotChunk> chunks, ILogger logger, CancellationToken cancellationToken)
    {
        if (!await chunks.MoveNext(cancellationToken).ConfigureAwait(false)) return Refused(logger, 0, "empty snapshot stream");
        var first = chunks.Current;
        var header = first.Message ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "first snapshot chunk carries no message"));
        transport.CheckIdentity(first.ClusterId, header.To);
        var payloads = Options.SnapshotPayloads;
        if (first.Body == SnapshotBody.Payload && payloads is null)
            return Refused(logger, header.From, "the sender streams snapshot payloads but this member has no ISnapshotPayloads (TransportOptions.SnapshotPayloads): configure it on every member or on none");
        if (first.Body != SnapshotBody.Payload && payloads is not null)
            return Refused(logger, header.From, "this member takes snapshot state as payloads (TransportOptions.SnapshotPayloads) but the sender sent it inline: configure it on every member or on none");
        if (transport.Inbox is null) return Refused(logger, header.From, "receiver is not started yet");
        var outcome = first.Body == SnapshotBody.Payload
            ? await ReceivePayloadAsync(chunks, first, payloads!, cancellationToken).ConfigureAwait(false)
            : await ReceiveInlineAsync(chunks, first, cancellationToken).ConfigureAwait(false);
        if (outcome.Refusal is { } refusal) return Refused(logger, header.From, refusal);
        if (transport.Inbox is not { } inbox || !inbox.TryDeliver(outcome.Message!)) return Refused(logger, header.From, "receiver is busy");
        return new SnapshotReply { Accepted = true };
    }

    private async Task<Outcome> ReceiveInlineAsync(IAsyncStreamReader<SnapshotChunk> chunks, SnapshotChunk first, CancellationToken cancellationToken)
    {
        // Only a snapshot message travels this way; any other was delivered with the data it brought silently dropped.
        if (first.Message.Type != (uint)MessageType.Snapshot) return new Outcome(null, $"message type {first.Message.Type} carries no snapshot");
        // Compared unsigned: a size of 2^63 or more was a negative length (an OverflowException, not a refusal).
        var announced = first.Message.Snapshot?.DataBytes ?? 0;
        var limit = Math.Min(Options.MaxSnapshotBytes, Array.MaxLength);
        if (announced > (ulong)limit) return new Outcome(null, $"snapshot of {announced} bytes exceeds the limit of {limit}");
        var total = (long)announced;
        // The announced size is the peer's word: the buffer grows with the data that arrives (never past the
        // announcement), so one small chunk that announces 2 GB no longer allocates 2 GB.
        var data = GC.AllocateUninitializedArray<byte>((int)Math.Min(total, Options.SnapshotChunkBytes));
        var received = 0;
        var refusal = await ReadBodyAsync(chunks, first, total, $"snapshot data longer than announced ({total} bytes)", piece =>
        {
            if (piece.Length > data.Length - received)
                Array.Resize(ref data, (int)Math.Min(total, Math.Max(received + (long)piece.Length, 2L * data.Length)));
            piece.Span.CopyTo(data.AsSpan(received));
            received += piece.Length;
            return ValueTask.FromResult<string?>(null);
        }, cancellationToken).ConfigureAwait(false);
        if (refusal is not null) return new Outcome(null, refusal);
        try
        {
            return new Outcome(MessageCodec.FromWire(first.Message, data.AsMemory(0, received)), null);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            return new Outcome(null, e.Message);
        }
    }

    private async Task<Outcome> ReceivePayloadAsync(IAsyncStreamReader<SnapshotChunk> chunks, SnapshotChunk first, ISnapshotPayloads payloads,
        CancellationToken cancellationToken)
    {
        Message announced;
        try
        {
            announced = MessageCodec.FromWireWithDescriptor(first.Message, default);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            return new Outcome(null, e.Message);
        }
        if (Interlocked.CompareExchange(ref _accepting, 1, 0) != 0)
            return new Outcome(null, "receiver is busy: it is accepting another snapshot payload");
        try
        {
            ReadOnlyMemory<byte> descriptor;
            await using (var receive = new PayloadReceive(payloads, announced.Snapshot!.Metadata, Options.SnapshotPayloadBufferChunks, cancellationToken))
            {
                var refusal = await ReadBodyAsync(chunks, first, Options.MaxSnapshotPayloadBytes,
                    $"snapshot payload exceeds the limit of {Options.MaxSnapshotPayloadBytes} bytes (MaxSnapshotPayloadBytes)", receive.WriteAsync, cancellationToken).ConfigureAwait(false);
                if (refusal is not null)
                {
                    await receive.FailAsync(refusal).ConfigureAwait(false);
                    return new Outcome(null, refusal);
                }
                try
                {
                    descriptor = await receive.FinishAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    return new Outcome(null, PayloadReceive.Describe(e));
                }
            }
            return new Outcome(MessageCodec.FromWireWithDescriptor(first.Message, descriptor), null);
        }
        finally
        {
            Volatile.Write(ref _accepting, 0);
        }
    }

    /// <summary>
    /// Reads the body's chunks (the first is already read) and hands each checked piece of data to
    /// <paramref name="onData"/>; returns null when the body arrived whole, or why it is refused.
    /// </summary>
    private static async Task<string?> ReadBodyAsync(IAsyncStreamReader<SnapshotChunk> chunks, SnapshotChunk first, long maxBytes, string overLimit,
        Func<ReadOnlyMemory<byte>, ValueTask<string?>> onData, CancellationToken cancellationToken)
    {
        var legacy = first.Body == SnapshotBody.Legacy; // an older sender: no checksums, no trailer
        var chunk = first;
        long received = 0;
        for (long index = 0; ; index++)
        {
            if (index > 0 && chunk.Message is not null) return $"chunk {index} carries a message: only the first may";
            if (!legacy && chunk.Last) return await CheckTrailerAsync(chunks, chunk, received, cancellationToken).ConfigureAwait(false);
            if (!legacy && index > 0 && chunk.Data.IsEmpty) return $"chunk {index} carries no data";
            if (!legacy && Crc32C.Compute(chunk.Data.Span) != chunk.DataCrc32C)
                return $"chunk {index} (body bytes {received} to {received + chunk.Data.Length}) is corrupt: its checksum does not match";
            if (chunk.Data.Length > maxBytes - received) return overLimit;
            FailPoints.Hit(FailPoint.SnapshotReceiveChunk);
            if (!chunk.Data.IsEmpty && await onData(chunk.Data.Memory).ConfigureAwait(false) is { } refusal) return refusal;
            received += chunk.Data.Length;
            if (!await chunks.MoveNext(cancellationToken).ConfigureAwait(false))
                return legacy ? null : $"the snapshot stream ended after {received} bytes without its final chunk: truncated";
            chunk = chunks.Current;
        }
    }

    private static async Task<string?> CheckTrailerAsync(IAsyncStreamReader<SnapshotChunk> chunks, SnapshotChunk trailer, long received,
        CancellationToken cancellationToken)
    {
        if (!trailer.Data.IsEmpty) return "the final chunk carries data";
        if (trailer.TotalBytes != (ulong)received)
            return $"the sender sent {trailer.TotalBytes} bytes but {received} arrived: truncated or padded";
        if (await chunks.MoveNext(cancellationToken).ConfigureAwait(false)) return "chunks follow the final chunk";
        return null;
    }

    private static SnapshotReply Refused(ILogger logger, ulong from, string reason)
    {
        LogRefused(logger, from, reason);
        return new SnapshotReply { Accepted = false, Error = reason };
    }

    private readonly record struct Outcome(Message? Message, string? Refusal);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "refused a snapshot from {From:x16}: {Reason}")]
    private static partial void LogRefused(ILogger logger, ulong from, string reason);
}
