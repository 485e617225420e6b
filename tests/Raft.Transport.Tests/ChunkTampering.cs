using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport.Tests;

/// <summary>What a <see cref="ChunkTamperingInterceptor"/> does to the next snapshot calls it sees (the wire misbehaving).</summary>
public sealed class ChunkTampering
{
    /// <summary>How many of the next calls get a byte flipped in their third chunk (its checksum left as sent).</summary>
    public int CorruptNext;

    /// <summary>How many of the next calls end just before their final chunk, as if the connection was cut.</summary>
    public int TruncateNext;

    /// <summary>Calls tampered with so far.</summary>
    public int Tampered;

    /// <summary>Every snapshot chunk received, as it arrived (before any tampering).</summary>
    public ConcurrentQueue<SeenChunk> Seen { get; } = new();

    internal bool Take(ref int counter)
    {
        if (Interlocked.Decrement(ref counter) < 0)
        {
            Interlocked.Increment(ref counter);
            return false;
        }
        Interlocked.Increment(ref Tampered);
        return true;
    }
}

/// <summary>A server interceptor on the receiving member that alters snapshot chunks in transit.</summary>
public sealed class ChunkTamperingInterceptor(ChunkTampering tampering) : Interceptor
{
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (requestStream is IAsyncStreamReader<SnapshotChunk> chunks)
            return continuation((IAsyncStreamReader<TRequest>)(object)new TamperingReader(chunks, tampering), context);
        return continuation(requestStream, context);
    }

    private sealed class TamperingReader(IAsyncStreamReader<SnapshotChunk> inner, ChunkTampering tampering) : IAsyncStreamReader<SnapshotChunk>
    {
        private int _index = -1;
        private SnapshotChunk? _current;

        public SnapshotChunk Current => _current ?? inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            _current = null;
            if (!await inner.MoveNext(cancellationToken)) return false;
            _index++;
            var chunk = inner.Current;
            tampering.Seen.Enqueue(new SeenChunk(chunk.Message is not null, chunk.Body, chunk.Message?.Snapshot?.DataBytes ?? 0, chunk.Data.Length,
                chunk.Last, chunk.TotalBytes));
            if (chunk.Last && tampering.Take(ref tampering.TruncateNext)) return false;
            if (_index == 2 && !chunk.Data.IsEmpty && tampering.Take(ref tampering.CorruptNext))
            {
                var bytes = chunk.Data.ToByteArray();
                bytes[bytes.Length / 2] ^= 0x01;
                _current = chunk.Clone();
                _current.Data = ByteString.CopyFrom(bytes);
            }
            return true;
        }
    }
}

/// <summary>What a chunk carried: whether it had the Raft message, the body kind and announced data size, its data, the trailer fields.</summary>
public sealed record SeenChunk(bool HasMessage, SnapshotBody Body, ulong AnnouncedDataBytes, int DataBytes, bool Last, ulong TotalBytes);
