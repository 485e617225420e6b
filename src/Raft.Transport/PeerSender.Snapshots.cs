using System.Buffers;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using RaftKv.Raft.Storage.Files;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport;

/// <summary>
/// Snapshots, one at a time, each over its own InstallSnapshot call: the body (the snapshot's data, or the state
/// machine's payload when <see cref="TransportOptions.SnapshotPayloads"/> is set) goes out in checksummed chunks
/// read into one pooled buffer, then a trailer with the total; see raft_peer.proto for the format. Each write is
/// awaited, so a slow receiver slows the reading of the body (HTTP/2 flow control), and memory stays one chunk.
/// </summary>
internal sealed partial class PeerSender
{
    // After a failed write, how long to wait for the receiver's reply (it may have refused and answered early).
    private static readonly TimeSpan ReplyWaitAfterWriteFailure = TimeSpan.FromSeconds(5);

    private async Task RunSnapshotsAsync()
    {
        var client = new RaftPeer.RaftPeerClient(_channel);
        try
        {
            await foreach (var message in _snapshots.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                var delivered = false;
                try
                {
                    delivered = await SendSnapshotAsync(client, message).ConfigureAwait(false);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return; // stopping: the call was cancelled, whatever it threw
                }
                catch (Exception e)
                {
                    // The peer, the network or the payload failed: this snapshot only. Raft sends another later.
                    LogSnapshotFailed(_logger, _options.NameOf(_peerId), e.Message);
                }
                _inbox.ReportSnapshot(_peerId, delivered);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<bool> SendSnapshotAsync(RaftPeer.RaftPeerClient client, Message message)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var snapshot = message.Snapshot!;
        var payloads = _options.SnapshotPayloads;
        var header = MessageCodec.ToWire(message);
        if (payloads is not null)
        {
            // The data is the sender's small descriptor, of no use to the receiver: the payload replaces it.
            header.Snapshot.DataBytes = 0;
            header.Snapshot.DataCrc32 = MessageCodec.Crc32([]);
        }
        var kind = payloads is null ? SnapshotBody.Inline : SnapshotBody.Payload;
        using var body = payloads is null ? InlineBody(snapshot.Data) : payloads.OpenPayload(snapshot);
        using var call = client.InstallSnapshot(cancellationToken: _stop.Token);
        long bytes;
        try
        {
            bytes = await WriteBodyAsync(call.RequestStream, header, kind, body).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException && e is not PayloadReadException)
        {
            // The receiver may have refused and answered before reading everything: its reply says why. If the call
            // broke instead, the reply throws.
            var early = await call.ResponseAsync.WaitAsync(ReplyWaitAfterWriteFailure, _stop.Token).ConfigureAwait(false);
            LogSnapshotFailed(_logger, _options.NameOf(_peerId), early.Accepted ? "the receiver accepted an incomplete snapshot" : early.Error);
            return false;
        }
        var reply = await call.ResponseAsync.ConfigureAwait(false);
        if (!reply.Accepted)
        {
            LogSnapshotFailed(_logger, _options.NameOf(_peerId), reply.Error);
            return false;
        }
        LogSnapshotSent(_logger, _options.NameOf(_peerId), snapshot.Index, kind, bytes,
            System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return true;
    }

    /// <summary>Writes the first chunk (with the header), the data chunks and the trailer; returns the body's length.</summary>
    private async Task<long> WriteBodyAsync(IClientStreamWriter<SnapshotChunk> writer, RaftMessage header, SnapshotBody kind, Stream body)
    {
        var chunkBytes = _options.SnapshotChunkBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(chunkBytes);
        try
        {
            var chunk = new SnapshotChunk { ClusterId = _options.ClusterId, Message = header, Body = kind };
            long total = 0;
            while (true)
            {
                var length = await ReadChunkAsync(body, buffer.AsMemory(0, chunkBytes)).ConfigureAwait(false);
                if (length == 0 && chunk.Message is null) break; // the body ended on a chunk boundary
                // Wrapping the pooled buffer is safe: a write serializes the chunk before it completes, and the buffer
                // is reused only after the write was awaited.
                chunk.Data = UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(0, length));
                chunk.DataCrc32C = Crc32C.Compute(buffer.AsSpan(0, length));
                FailPoints.Hit(FailPoint.SnapshotSendChunk);
                await writer.WriteAsync(chunk, _stop.Token).ConfigureAwait(false);
                total += length;
                if (length < chunkBytes) break;
                chunk = new SnapshotChunk { ClusterId = _options.ClusterId };
            }
            await writer.WriteAsync(new SnapshotChunk { ClusterId = _options.ClusterId, Last = true, TotalBytes = (ulong)total }, _stop.Token)
                .ConfigureAwait(false);
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Fills <paramref name="buffer"/> from the body, or less at its end.</summary>
    private async Task<int> ReadChunkAsync(Stream body, Memory<byte> buffer)
    {
        try
        {
            return await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            throw new PayloadReadException(e);
        }
    }

    private static MemoryStream InlineBody(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);

    /// <summary>Reading the body failed (the state machine's payload): the call is abandoned, no reply is awaited.</summary>
    private sealed class PayloadReadException(Exception inner) : IOException($"reading the snapshot body failed: {inner.Message}", inner);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "snapshot to {Peer} failed: {Reason}")]
    private static partial void LogSnapshotFailed(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "snapshot at index {Index} sent to {Peer}: {Body} body of {Bytes} bytes in {ElapsedMs:F0} ms")]
    private static partial void LogSnapshotSent(ILogger logger, string peer, ulong index, SnapshotBody body, long bytes, double elapsedMs);
}
