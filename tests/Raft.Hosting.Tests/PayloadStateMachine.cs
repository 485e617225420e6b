using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// A replicated list of commands whose state is large (each command expands to <see cref="BlockBytes"/> derived
/// bytes) and whose snapshots are tiny descriptors: the state travels as an <see cref="ISnapshotPayloads"/> payload
/// and is staged on the receiver (in a dictionary standing in for its disk) before Restore switches to it. Like a
/// disk-backed state machine, a restored state may be ahead of the snapshot's index, so Apply skips entries it
/// already holds, and refuses a gap (which would be a host bug). With <c>inline: true</c> it is an ordinary state
/// machine instead: the snapshot's data is the whole encoded state.
/// </summary>
/// <remarks>
/// Payload format: magic "PAYL", applied index (u64), item count (u32), then per item its UTF-8 length (u16), the
/// bytes and the item's block; then the SHA-256 of everything before it. Big-endian.
/// </remarks>
public sealed class PayloadStateMachine(ulong nodeId, bool inline = false) : IStateMachine, ISnapshotPayloads
{
    public const int BlockBytes = 32 * 1024;
    private const uint Magic = 0x5041594C; // "PAYL"
    private readonly object _lock = new();
    private List<string> _items = [];
    private ulong _applied;
    // The stand-in for the disk: staged payloads by stage number.
    private readonly ConcurrentDictionary<int, (ulong Applied, List<string> Items)> _staged = new();
    private int _stages;

    public IReadOnlyList<string> Items
    {
        get
        {
            lock (_lock) return _items.ToArray();
        }
    }

    public ulong AppliedIndex
    {
        get
        {
            lock (_lock) return _applied;
        }
    }

    /// <summary>Every descriptor (or inline state) Restore was given, in order.</summary>
    public ConcurrentQueue<byte[]> Restores { get; } = new();

    /// <summary>Every descriptor AcceptPayload returned, with the snapshot's index and the (later or equal) index of the state it staged.</summary>
    public ConcurrentQueue<(byte[] Descriptor, ulong SnapshotIndex, ulong StateIndex)> Accepted { get; } = new();

    /// <summary>Every exception AcceptPayload ended with.</summary>
    public ConcurrentQueue<Exception> AcceptFailures { get; } = new();

    /// <summary>Payloads staged and not yet restored.</summary>
    public int StagedCount => _staged.Count;

    /// <summary>Sender side: how many of the next payloads get one byte flipped in their middle.</summary>
    public int CorruptNextPayloads;

    /// <summary>Sender side: how many of the next payloads lose their second half.</summary>
    public int TruncateNextPayloads;

    /// <summary>Sender side: the length of the last payload opened.</summary>
    public long LastPayloadBytes => Volatile.Read(ref _lastPayloadBytes);

    private long _lastPayloadBytes;

    /// <summary>Receiver side: while reset, AcceptPayload waits (after <see cref="AcceptsStarted"/> counts it) before reading.</summary>
    public ManualResetEventSlim HoldAccepts { get; } = new(initialState: true);

    /// <summary>Receiver side: AcceptPayload calls begun.</summary>
    public int AcceptsStarted => Volatile.Read(ref _acceptsStarted);

    private int _acceptsStarted;

    public object? Apply(in Entry entry)
    {
        lock (_lock)
        {
            if (entry.Index <= _applied) return null; // already in the state (restored from a later copy)
            if (entry.Index != _applied + 1) throw new InvalidOperationException($"entry {entry.Index} after applied index {_applied}: a gap");
            _applied = entry.Index;
            if (entry.Data.IsEmpty) return null;
            _items.Add(Encoding.UTF8.GetString(entry.Data.Span));
            return _items.Count;
        }
    }

    public IStateMachineSnapshot CaptureSnapshot()
    {
        lock (_lock)
        {
            // Inline, the state is encoded by WriteTo, off the loop; the capture only copies the list of references.
            var (applied, items) = (_applied, _items.ToArray());
            return new Capture(inline ? () => Encode(applied, items) : () => Encoding.UTF8.GetBytes($"live:{nodeId}@{applied}"));
        }
    }

    public void Restore(ReadOnlyMemory<byte> snapshot)
    {
        Restores.Enqueue(snapshot.ToArray());
        if (inline)
        {
            var (applied, items) = Decode(new MemoryStream(snapshot.ToArray()), CancellationToken.None);
            Switch(applied, items);
            return;
        }
        var text = Encoding.UTF8.GetString(snapshot.Span);
        if (text.StartsWith($"staged:{nodeId}:", StringComparison.Ordinal)
            && _staged.TryRemove(int.Parse(text.AsSpan(text.LastIndexOf(':') + 1), System.Globalization.CultureInfo.InvariantCulture), out var staged))
        {
            Switch(staged.Applied, staged.Items);
            return;
        }
        // Only its own live state is restorable without a staged payload (a durable machine after a restart).
        if (!text.StartsWith($"live:{nodeId}@", StringComparison.Ordinal)) throw new InvalidDataException($"node {nodeId} cannot restore '{text}'");
    }

    public Stream OpenPayload(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ulong applied;
        string[] items;
        lock (_lock)
        {
            if (_applied < snapshot.Index) throw new InvalidOperationException($"asked for index {snapshot.Index}, applied only {_applied}");
            (applied, items) = (_applied, _items.ToArray()); // a consistent copy; encoded outside the lock, while Apply goes on
        }
        var bytes = Encode(applied, items);
        if (Interlocked.Decrement(ref CorruptNextPayloads) >= 0) bytes[bytes.Length / 2] ^= 0x5A;
        if (Interlocked.Decrement(ref TruncateNextPayloads) >= 0) Array.Resize(ref bytes, bytes.Length / 2);
        Volatile.Write(ref _lastPayloadBytes, bytes.Length);
        return new MemoryStream(bytes, writable: false);
    }

    public ReadOnlyMemory<byte> AcceptPayload(SnapshotMetadata metadata, Stream payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        Interlocked.Increment(ref _acceptsStarted);
        try
        {
            HoldAccepts.Wait(cancellationToken);
            var (applied, items) = Decode(payload, cancellationToken);
            if (payload.Read(new byte[1]) != 0) throw new InvalidDataException("bytes after the payload's checksum");
            if (applied < metadata.Index) throw new InvalidDataException($"payload at index {applied} is older than snapshot {metadata.Index}");
            var stage = Interlocked.Increment(ref _stages);
            _staged[stage] = (applied, items);
            var descriptor = Encoding.UTF8.GetBytes($"staged:{nodeId}:{stage}");
            Accepted.Enqueue((descriptor, metadata.Index, applied));
            return descriptor;
        }
        catch (Exception e)
        {
            AcceptFailures.Enqueue(e);
            throw;
        }
    }

    private void Switch(ulong applied, List<string> items)
    {
        lock (_lock)
        {
            _applied = applied;
            _items = items;
        }
    }

    public static byte[] Encode(ulong applied, IReadOnlyList<string> items)
    {
        var output = new MemoryStream();
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(header, Magic);
        BinaryPrimitives.WriteUInt64BigEndian(header[4..], applied);
        BinaryPrimitives.WriteUInt32BigEndian(header[12..], (uint)items.Count);
        output.Write(header);
        var block = new byte[BlockBytes];
        Span<byte> length = stackalloc byte[2];
        foreach (var item in items)
        {
            var text = Encoding.UTF8.GetBytes(item);
            BinaryPrimitives.WriteUInt16BigEndian(length, checked((ushort)text.Length));
            output.Write(length);
            output.Write(text);
            FillBlock(text, block);
            output.Write(block);
        }
        output.Write(SHA256.HashData(output.GetBuffer().AsSpan(0, (int)output.Length)));
        return output.ToArray();
    }

    /// <summary>Reads and checks one encoded state from <paramref name="input"/>, a block at a time.</summary>
    /// <exception cref="InvalidDataException">Corrupt or truncated (or the transport said so).</exception>
    public static (ulong Applied, List<string> Items) Decode(Stream input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var header = ReadExactly(input, 16, hash);
        if (BinaryPrimitives.ReadUInt32BigEndian(header) != Magic) throw new InvalidDataException("not a payload");
        var applied = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(4));
        var count = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
        var items = new List<string>();
        var expected = new byte[BlockBytes];
        for (var i = 0u; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var text = ReadExactly(input, BinaryPrimitives.ReadUInt16BigEndian(ReadExactly(input, 2, hash)), hash);
            FillBlock(text, expected);
            if (!ReadExactly(input, BlockBytes, hash).AsSpan().SequenceEqual(expected)) throw new InvalidDataException($"item {i}'s block is corrupt");
            items.Add(Encoding.UTF8.GetString(text));
        }
        var sum = hash.GetHashAndReset();
        if (!ReadExactly(input, sum.Length, null).AsSpan().SequenceEqual(sum)) throw new InvalidDataException("payload checksum mismatch");
        return (applied, items);
    }

    private static byte[] ReadExactly(Stream input, int count, IncrementalHash? hash)
    {
        var bytes = new byte[count];
        try
        {
            input.ReadExactly(bytes);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("payload truncated", e);
        }
        hash?.AppendData(bytes);
        return bytes;
    }

    private static void FillBlock(ReadOnlySpan<byte> text, Span<byte> block)
    {
        var seed = 17u;
        foreach (var b in text) seed = seed * 31 + b;
        for (var i = 0; i < block.Length; i++)
        {
            seed = seed * 1664525 + 1013904223;
            block[i] = (byte)(seed >> 24);
        }
    }

    private sealed class Capture(Func<byte[]> encode) : IStateMachineSnapshot
    {
        public long SizeHintBytes => 0;

        public void WriteTo(Stream destination) => destination.Write(encode());
    }
}
