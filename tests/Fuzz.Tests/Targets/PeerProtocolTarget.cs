using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using RaftKv.Fuzz.Tests.Engine;
using RaftKv.Raft;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Transport;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Fuzz.Tests.Targets;

/// <summary>
/// The peer protocol as a hostile peer sends it. Input: a mode byte, then either one protobuf <see cref="RaftMessage"/>
/// (mode 0), a <see cref="MessageBatch"/> as the stream service reads it (mode 1), or an InstallSnapshot call: framed
/// <see cref="SnapshotChunk"/>s fed to the real <c>SnapshotReceiver</c> without a socket (mode 2; with payloads, every
/// input is such a call, to a receiver that stages payloads: <c>PayloadReceive</c> and <c>PayloadStream</c>).
/// Invariants: protobuf decoding fails only with <see cref="InvalidProtocolBufferException"/>; <see cref="MessageCodec.FromWire"/>
/// only with <see cref="InvalidDataException"/> or <see cref="ArgumentException"/> (what RaftPeerService catches); the
/// snapshot receiver only refuses (a reply) or throws <see cref="RpcException"/> (first chunk malformed or misaddressed),
/// and a snapshot it accepts is exactly the bytes that were sent; no length field makes it allocate ahead of the data.
/// </summary>
public sealed class PeerProtocolTarget : IFuzzTarget
{
    private const ulong ClusterId = 0xC1;
    private const ulong LocalId = 2;
    private readonly CapturingInbox _inbox = new();
    private readonly GrpcTransport _transport;
    private readonly CapturingInbox _payloadInbox = new();
    private readonly GrpcTransport _payloadTransport;

    private readonly bool _payloads;

    /// <param name="payloads">
    /// Snapshot calls only, to a receiver with <see cref="ISnapshotPayloads"/> (the payload path through
    /// <c>PayloadReceive</c>): a thread per call, so a hundred times slower, hence a target of its own.
    /// </param>
    public PeerProtocolTarget(bool payloads = false)
    {
        _payloads = payloads;
        _transport = new GrpcTransport(new TransportOptions { LocalId = LocalId, ClusterId = ClusterId, Peers = new Dictionary<ulong, Uri>() });
        _transport.Start(_inbox);
        _payloadTransport = new GrpcTransport(new TransportOptions
        {
            LocalId = LocalId, ClusterId = ClusterId, Peers = new Dictionary<ulong, Uri>(), SnapshotPayloads = new DigestingPayloads(),
        });
        _payloadTransport.Start(_payloadInbox);
    }

    public string Name => _payloads ? "peer-payload" : "peer";

    public IReadOnlyList<byte[]> Seeds()
    {
        var random = new Random(1);
        var seeds = new List<byte[]>();
        foreach (var message in SampleMessages(random)) seeds.Add([0, .. MessageCodec.ToWire(message).ToByteArray()]);
        var batch = new MessageBatch { ClusterId = ClusterId, From = 1, To = LocalId };
        batch.Messages.AddRange(SampleMessages(random).Select(MessageCodec.ToWire));
        seeds.Add([1, .. batch.ToByteArray()]);
        foreach (var (size, chunk, body) in new[] { (0, 16, SnapshotBody.Inline), (100, 16, SnapshotBody.Inline), (300, 64, SnapshotBody.Inline), (50, 20, SnapshotBody.Legacy) })
        {
            var data = new byte[size];
            random.NextBytes(data);
            seeds.Add([2, .. Framing.Encode(SnapshotCall(data, chunk, body).Select(c => c.ToByteArray()))]);
            seeds.Add([3, .. Framing.Encode(SnapshotCall(data, chunk, SnapshotBody.Payload).Select(c => c.ToByteArray()))]);
        }
        return seeds.Where(seed => seed[0] == 3 == _payloads).ToArray();
    }

    public byte[] Generate(Random random, IReadOnlyList<byte[]> corpus)
    {
        var input = corpus[random.Next(corpus.Count)];
        if (input.Length > 0 && input[0] is 2 or 3 && random.Next(2) == 0) return [input[0], .. MutateCall(random, input.AsSpan(1))];
        return Mutator.Mutate(random, input, corpus);
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) return;
        if (_payloads)
        {
            RunSnapshotCall(input[1..], _payloadTransport, _payloadInbox, payloads: true);
            return;
        }
        switch (input[0] % 3)
        {
            case 0:
                RunMessage(input[1..]);
                break;
            case 1:
                RunBatch(input[1..]);
                break;
            default:
                RunSnapshotCall(input[1..], _transport, _inbox, payloads: false);
                break;
        }
    }

    private static void RunMessage(ReadOnlySpan<byte> bytes)
    {
        RaftMessage wire;
        try
        {
            wire = RaftMessage.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            Outcomes.Note("message: not protobuf");
            return;
        }
        Decode(wire, "message");
    }

    private static void RunBatch(ReadOnlySpan<byte> bytes)
    {
        MessageBatch batch;
        try
        {
            batch = MessageBatch.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            Outcomes.Note("batch: not protobuf");
            return;
        }
        foreach (var wire in batch.Messages) Decode(wire, "batch message");
    }

    private static void Decode(RaftMessage wire, string what)
    {
        Message message;
        try
        {
            message = MessageCodec.FromWire(wire);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            Outcomes.Note($"{what}: rejected ({e.GetType().Name})");
            return;
        }
        // What was accepted is what was sent.
        if ((uint)message.Type != wire.Type || message.Term != wire.Term || message.Index != wire.Index || message.Entries.Count != wire.Entries.Count)
            throw new FuzzFindingException($"{what}: decoded {message.Type} term {message.Term} index {message.Index} differs from the wire's");
        for (var i = 0; i < message.Entries.Count; i++)
        {
            if (!message.Entries[i].Data.Span.SequenceEqual(wire.Entries[i].Data.Span))
                throw new FuzzFindingException($"{what}: entry {i}'s data differs from the wire's");
        }
        Outcomes.Note($"{what}: accepted");
    }

    private static void RunSnapshotCall(ReadOnlySpan<byte> bytes, GrpcTransport transport, CapturingInbox inbox, bool payloads)
    {
        var what = payloads ? "payload" : "snapshot";
        var chunks = new List<SnapshotChunk>();
        foreach (var part in Framing.Decode(bytes))
        {
            try
            {
                chunks.Add(SnapshotChunk.Parser.ParseFrom(part));
            }
            catch (InvalidProtocolBufferException)
            {
                break; // gRPC fails the call at this chunk: the receiver sees the stream end here
            }
        }
        inbox.Delivered.Clear();
        SnapshotReply reply;
        try
        {
            reply = transport.Snapshots.ReceiveAsync(new ListReader(chunks), NullLogger.Instance, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (RpcException e)
        {
            Outcomes.Note($"{what}: RpcException {e.StatusCode}");
            return;
        }
        if (!reply.Accepted)
        {
            if (inbox.Delivered.Count != 0) throw new FuzzFindingException($"{what}: refused, yet a message reached the host");
            Outcomes.Note($"{what}: refused");
            return;
        }
        if (inbox.Delivered.Count != 1 || inbox.Delivered[0].Snapshot is not { } snapshot)
            throw new FuzzFindingException($"{what}: accepted, but {inbox.Delivered.Count} messages reached the host");
        var sent = chunks.SelectMany(c => c.Data.ToByteArray()).ToArray();
        var expected = payloads ? DigestingPayloads.Digest(sent) : sent;
        if (!snapshot.Data.Span.SequenceEqual(expected))
            throw new FuzzFindingException($"{what}: accepted {snapshot.Data.Length} bytes that are not the {sent.Length} bytes sent");
        Outcomes.Note($"{what}: accepted");
    }

    // Structure-aware edits of a snapshot call: drop, duplicate or swap chunks, corrupt one chunk's data or checksum,
    // set the announced size or the trailer's total to a boundary value, or byte-mutate one chunk.
    private static byte[] MutateCall(Random random, ReadOnlySpan<byte> call)
    {
        var parts = Framing.Decode(call);
        var chunks = new List<SnapshotChunk>();
        foreach (var p in parts)
        {
            try
            {
                chunks.Add(SnapshotChunk.Parser.ParseFrom(p));
            }
            catch (InvalidProtocolBufferException)
            {
                break;
            }
        }
        if (chunks.Count == 0) return [.. call];
        var i = random.Next(chunks.Count);
        switch (random.Next(8))
        {
            case 0:
                chunks.RemoveAt(i);
                break;
            case 1:
                chunks.Insert(i, chunks[random.Next(chunks.Count)].Clone());
                break;
            case 2:
                {
                    var j = random.Next(chunks.Count);
                    (chunks[i], chunks[j]) = (chunks[j], chunks[i]);
                    break;
                }
            case 3 when !chunks[i].Data.IsEmpty:
                {
                    var data = chunks[i].Data.ToByteArray();
                    data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                    chunks[i].Data = ByteString.CopyFrom(data);
                    if (random.Next(2) == 0) chunks[i].DataCrc32C = Crc32CSoftware.Compute(data); // a consistent liar
                    break;
                }
            case 4 when chunks[0].Message?.Snapshot is { } meta:
                meta.DataBytes = Mutator.InterestingValue(random);
                break;
            case 5:
                chunks[^1].TotalBytes = random.Next(2) == 0 ? Mutator.InterestingValue(random) : chunks[^1].TotalBytes + 1;
                break;
            case 6:
                chunks[i].Body = (SnapshotBody)random.Next(4);
                break;
            default:
                {
                    var others = parts.Count > 0 ? parts : [];
                    var mutated = Mutator.Mutate(random, chunks[i].ToByteArray(), others);
                    try
                    {
                        chunks[i] = SnapshotChunk.Parser.ParseFrom(mutated);
                    }
                    catch (InvalidProtocolBufferException)
                    {
                        // keep the chunk as it was
                    }
                    break;
                }
        }
        return Framing.Encode(chunks.Select(c => c.ToByteArray()));
    }

    /// <summary>An input of mode 2: an inline snapshot call carrying <paramref name="data"/> that announces <paramref name="announcedBytes"/>.</summary>
    public static byte[] SnapshotCallInput(byte[] data, ulong announcedBytes)
    {
        var chunks = SnapshotCall(data, Math.Max(1, data.Length), SnapshotBody.Inline).ToList();
        chunks[0].Message.Snapshot.DataBytes = announcedBytes;
        return [2, .. Framing.Encode(chunks.Select(c => c.ToByteArray()))];
    }

    private static IEnumerable<SnapshotChunk> SnapshotCall(byte[] data, int chunkBytes, SnapshotBody body)
    {
        var conf = new ConfState([1, 2, 3], [4], [], false);
        var message = new Message
        {
            Type = MessageType.Snapshot, From = 1, To = LocalId, Term = 3,
            Snapshot = new Snapshot(new Raft.SnapshotMetadata(10, 2, conf), data),
        };
        var wire = MessageCodec.ToWire(body == SnapshotBody.Payload
            ? new Message { Type = message.Type, From = message.From, To = message.To, Term = message.Term, Snapshot = new Snapshot(message.Snapshot!.Metadata, Array.Empty<byte>()) }
            : message);
        long total = 0;
        var first = true;
        for (var offset = 0; first || offset < data.Length; offset += chunkBytes)
        {
            var piece = data.AsSpan(offset, Math.Min(chunkBytes, data.Length - offset)).ToArray();
            var chunk = new SnapshotChunk { ClusterId = ClusterId, Data = ByteString.CopyFrom(piece) };
            if (body != SnapshotBody.Legacy) chunk.DataCrc32C = Crc32CSoftware.Compute(piece);
            if (first)
            {
                chunk.Message = wire;
                chunk.Body = body;
                first = false;
            }
            total += piece.Length;
            yield return chunk;
        }
        if (body != SnapshotBody.Legacy) yield return new SnapshotChunk { ClusterId = ClusterId, Last = true, TotalBytes = (ulong)total };
    }

    private static IEnumerable<Message> SampleMessages(Random random)
    {
        byte[] Bytes(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }
        yield return new Message { Type = MessageType.Vote, From = 1, To = LocalId, Term = 5, LogTerm = 4, Index = 17 };
        yield return new Message { Type = MessageType.Heartbeat, From = 1, To = LocalId, Term = 5, Commit = 16, Context = 0x1234_5678 };
        yield return new Message { Type = MessageType.AppendResponse, From = 1, To = LocalId, Term = 5, Index = 9, Reject = true, RejectHint = 7 };
        yield return new Message
        {
            Type = MessageType.Append, From = 1, To = LocalId, Term = 5, LogTerm = 4, Index = 17, Commit = 16,
            Entries = [new Entry(18, 5, EntryType.Normal, Bytes(20)), new Entry(19, 5, EntryType.ConfChange, Bytes(12)), new Entry(20, 5, EntryType.Normal, Array.Empty<byte>())],
        };
    }

    /// <summary>The gRPC request stream, from a list: completes synchronously, so one execution stays on its thread.</summary>
    private sealed class ListReader(IReadOnlyList<SnapshotChunk> chunks) : IAsyncStreamReader<SnapshotChunk>
    {
        private int _next;

        public SnapshotChunk Current { get; private set; } = null!;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (_next >= chunks.Count) return Task.FromResult(false);
            Current = chunks[_next++];
            return Task.FromResult(true);
        }
    }

    /// <summary>A state machine's payload side that reads the payload to its end and returns its length and CRC as the descriptor.</summary>
    private sealed class DigestingPayloads : ISnapshotPayloads
    {
        public static byte[] Digest(ReadOnlySpan<byte> payload)
        {
            var digest = new byte[12];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(digest, payload.Length);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(digest.AsSpan(8), Crc32CSoftware.Compute(payload));
            return digest;
        }

        public Stream OpenPayload(Snapshot snapshot) => throw new NotSupportedException("this member only receives");

        public ReadOnlyMemory<byte> AcceptPayload(Raft.SnapshotMetadata metadata, Stream payload, CancellationToken cancellationToken)
        {
            var copy = new MemoryStream();
            payload.CopyTo(copy);
            return Digest(copy.GetBuffer().AsSpan(0, (int)copy.Length));
        }
    }

    private sealed class CapturingInbox : IRaftInbox
    {
        public List<Message> Delivered { get; } = [];

        public bool TryDeliver(Message message)
        {
            Delivered.Add(message);
            return true;
        }

        public void ReportUnreachable(ulong peerId)
        {
        }

        public void ReportSnapshot(ulong peerId, bool delivered)
        {
        }
    }
}
