using Grpc.Core;
using Grpc.Core.Interceptors;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Http.Faults;

/// <summary>
/// Enforces <see cref="PartitionState"/> on the inbound Raft peer service: message batches from a cut-off sender
/// (or to a cut-off member) are dropped as a lossy network would drop them, and unary calls and snapshots fail as
/// unreachable. Installed on RaftPeerService and the write forwarding service only; the dashboard's own peer endpoints are not affected.
/// </summary>
public sealed class PartitionInterceptor(PartitionState partition) : Interceptor
{
    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        var from = request switch
        {
            PingRequest p => p.From,
            RaftKv.Server.Forwarding.ForwardRequest f => f.From,
            _ => 0UL,
        };
        if (partition.Drops(from)) throw Partitioned();
        return continuation(request, context);
    }

    /// <inheritdoc />
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (requestStream is IAsyncStreamReader<MessageBatch> batches)
            return continuation((IAsyncStreamReader<TRequest>)(object)new DroppingReader(batches, partition), context);
        if (requestStream is IAsyncStreamReader<SnapshotChunk> chunks)
            return continuation((IAsyncStreamReader<TRequest>)(object)new RefusingSnapshotReader(chunks, partition), context);
        return continuation(requestStream, context);
    }

    private static RpcException Partitioned() => new(new Status(StatusCode.Unavailable, "partitioned by fault injection"));

    /// <summary>Skips batches that the partition drops; the stream itself stays open, as over a lossy link.</summary>
    private sealed class DroppingReader(IAsyncStreamReader<MessageBatch> inner, PartitionState partition) : IAsyncStreamReader<MessageBatch>
    {
        public MessageBatch Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            while (await inner.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                if (!partition.Drops(inner.Current.From)) return true;
            }
            return false;
        }
    }

    /// <summary>Fails a snapshot transfer whose sender (named in the first chunk) is cut off.</summary>
    private sealed class RefusingSnapshotReader(IAsyncStreamReader<SnapshotChunk> inner, PartitionState partition) : IAsyncStreamReader<SnapshotChunk>
    {
        private ulong _from;

        public SnapshotChunk Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await inner.MoveNext(cancellationToken).ConfigureAwait(false)) return false;
            if (inner.Current.Message is { } first) _from = first.From;
            if (partition.Drops(_from)) throw Partitioned();
            return true;
        }
    }
}
