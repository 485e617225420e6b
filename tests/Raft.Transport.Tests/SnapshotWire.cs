using Google.Protobuf;
using Grpc.Core;
using RaftKv.Raft.Storage.Files;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport.Tests;

/// <summary>A fake sender: builds InstallSnapshot chunks by hand (raft_peer.proto's format) and sends them.</summary>
internal static class SnapshotWire
{
    public const ulong ClusterId = 0xC1;

    public static Message SnapshotMessage(ulong from, ulong to, ulong index, ReadOnlyMemory<byte> data) => new()
    {
        Type = MessageType.Snapshot, From = from, To = to, Term = 3,
        Snapshot = new Snapshot(new SnapshotMetadata(index, 3, new ConfState([1, 2, 3])), data),
    };

    /// <summary>The chunks a current sender writes: the header in the first, a checksum in each, then the trailer.</summary>
    public static List<SnapshotChunk> Chunks(Message message, SnapshotBody body, byte[] bytes, int chunkBytes)
    {
        var header = MessageCodec.ToWire(message);
        if (body == SnapshotBody.Payload)
        {
            header.Snapshot.DataBytes = 0;
            header.Snapshot.DataCrc32 = 0;
        }
        var chunks = new List<SnapshotChunk>();
        var offset = 0;
        do
        {
            var piece = bytes.AsMemory(offset, Math.Min(chunkBytes, bytes.Length - offset));
            var chunk = new SnapshotChunk { ClusterId = ClusterId, Data = ByteString.CopyFrom(piece.Span), DataCrc32C = Crc32C.Compute(piece.Span) };
            if (offset == 0)
            {
                chunk.Message = header;
                chunk.Body = body;
            }
            chunks.Add(chunk);
            offset += piece.Length;
        }
        while (offset < bytes.Length);
        chunks.Add(new SnapshotChunk { ClusterId = ClusterId, Last = true, TotalBytes = (ulong)bytes.Length });
        return chunks;
    }

    /// <summary>The chunks a sender before checksummed chunks wrote: data only, the last one marked.</summary>
    public static List<SnapshotChunk> LegacyChunks(Message message, byte[] bytes, int chunkBytes)
    {
        var chunks = bytes.Chunk(chunkBytes).Select(piece => new SnapshotChunk { ClusterId = ClusterId, Data = ByteString.CopyFrom(piece) }).ToList();
        chunks[0].Message = MessageCodec.ToWire(message);
        chunks[^1].Last = true;
        return chunks;
    }

    /// <summary>Writes <paramref name="chunks"/> (as far as the receiver lets it) and returns the reply.</summary>
    public static async Task<SnapshotReply> InstallAsync(RaftPeer.RaftPeerClient client, IEnumerable<SnapshotChunk> chunks, bool complete = true)
    {
        using var call = client.InstallSnapshot();
        try
        {
            foreach (var chunk in chunks) await call.RequestStream.WriteAsync(chunk);
            if (complete) await call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or IOException or HttpRequestException)
        {
            // The receiver answered (refused) before reading everything.
        }
        return await call.ResponseAsync;
    }
}
