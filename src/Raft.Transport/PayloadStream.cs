using System.Threading.Channels;

namespace RaftKv.Raft.Transport;

/// <summary>
/// The receiving end of a snapshot payload as a read-only stream, for <see cref="Hosting.ISnapshotPayloads.AcceptPayload"/>.
/// The gRPC handler writes the chunks it has checked (without copying them); the state machine reads them on its own
/// thread. At most the channel's capacity of chunks waits in between: the writer waits beyond it, and so does the
/// sender (HTTP/2 flow control). A read returns 0 (the end) only after <see cref="Complete"/>, once the whole payload
/// arrived and its total checked out; after <see cref="Fail"/> the reads throw <see cref="InvalidDataException"/>
/// instead, so a state machine that stages only what it read to the end stages nothing of a bad transfer.
/// </summary>
/// <remarks>One writer thread and one reader thread. Reads honour the token given at construction.</remarks>
internal sealed class PayloadStream : Stream
{
    private readonly Channel<ReadOnlyMemory<byte>> _chunks;
    private readonly CancellationToken _cancellationToken;
    private ReadOnlyMemory<byte> _current;
    private long _position;
    // Set before the channel is completed, read after the reader saw the completion.
    private volatile string? _failure;
    private volatile bool _reachedEnd;

    public PayloadStream(int capacityChunks, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityChunks);
        _chunks = Channel.CreateBounded<ReadOnlyMemory<byte>>(new BoundedChannelOptions(capacityChunks)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _cancellationToken = cancellationToken;
    }

    /// <summary>True once a read returned the end of the payload (it was read whole).</summary>
    public bool ReachedEnd => _reachedEnd;

    /// <summary>Queues a checked chunk, waiting while the buffer is full. The chunk's memory must stay unchanged.</summary>
    public ValueTask WriteChunkAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken) =>
        _chunks.Writer.WriteAsync(chunk, cancellationToken);

    /// <summary>The whole payload was written and checked: reads reach the end after the buffered chunks.</summary>
    public void Complete() => _chunks.Writer.TryComplete();

    /// <summary>The transfer is bad: reads throw <see cref="InvalidDataException"/> with <paramref name="reason"/> after the buffered chunks.</summary>
    public void Fail(string reason)
    {
        _failure = reason;
        _chunks.Writer.TryComplete();
    }

    public override int Read(Span<byte> buffer)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        if (buffer.IsEmpty) return 0;
        while (_current.IsEmpty)
        {
            if (_chunks.Reader.TryRead(out _current)) continue;
            // The reader is AcceptPayload's own thread: blocking it is what a synchronous read means.
            var wait = _chunks.Reader.WaitToReadAsync(_cancellationToken);
            var more = wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
            if (!more) return End();
        }
        return Take(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(_cancellationToken, cancellationToken) : null;
        var token = linked?.Token ?? _cancellationToken;
        token.ThrowIfCancellationRequested();
        if (buffer.IsEmpty) return 0;
        while (_current.IsEmpty)
        {
            if (_chunks.Reader.TryRead(out _current)) continue;
            if (!await _chunks.Reader.WaitToReadAsync(token).ConfigureAwait(false)) return End();
        }
        return Take(buffer.Span);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Take(Span<byte> buffer)
    {
        var length = Math.Min(buffer.Length, _current.Length);
        _current.Span[..length].CopyTo(buffer);
        _current = _current[length..];
        _position += length;
        return length;
    }

    private int End()
    {
        if (_failure is { } reason) throw new InvalidDataException(reason);
        _reachedEnd = true;
        return 0;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    /// <summary>Not known until the end: a payload's length travels in its trailer.</summary>
    public override long Length => throw new NotSupportedException("a payload's length is known only at its end");

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException("a payload is read once, in order");
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a payload is read once, in order");

    public override void SetLength(long value) => throw new NotSupportedException("a payload is read-only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("a payload is read-only");
}
