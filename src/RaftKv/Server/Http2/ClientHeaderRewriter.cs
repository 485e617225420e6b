using System.Buffers;
using System.Text;

namespace RaftKv.Server.Http2;

/// <summary>Limits and context for one client connection's <see cref="ClientHeaderRewriter"/>.</summary>
internal sealed record ClientHeaderRewriterOptions
{
    /// <summary>The server's SETTINGS_MAX_FRAME_SIZE: the largest frame payload the client may send, and the rewriter writes.</summary>
    public int MaxFrameSizeBytes { get; init; } = Http2Frame.DefaultMaxFrameSizeBytes;

    /// <summary>The server's SETTINGS_HEADER_TABLE_SIZE: the largest dynamic table the client's encoder may use.</summary>
    public int HeaderTableSizeBytes { get; init; } = 4096;

    /// <summary>The most encoded bytes one header block (HEADERS plus CONTINUATION fragments) may have.</summary>
    public int HeaderBlockMaxBytes { get; init; } = 64 * 1024;

    /// <summary>The largest decoded header list (RFC 9113 section 6.5.2 size) one block may have.</summary>
    public int HeaderListMaxBytes { get; init; } = 64 * 1024;

    /// <summary>What an authority that cannot be repaired becomes: the address the client connected to, as host:port.</summary>
    public string FallbackAuthority { get; init; } = "localhost";

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFrameSizeBytes, Http2Frame.DefaultMaxFrameSizeBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxFrameSizeBytes, (1 << 24) - 1);
        ArgumentOutOfRangeException.ThrowIfNegative(HeaderTableSizeBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(HeaderBlockMaxBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(HeaderListMaxBytes, 1024);
        if (!AuthorityNormalizer.IsPlainAuthority(Encoding.ASCII.GetBytes(FallbackAuthority)))
            throw new ArgumentException($"fallback authority '{FallbackAuthority}' is not host:port", nameof(FallbackAuthority));
    }
}

/// <summary>What to do with the next bytes a client sent.</summary>
internal enum ScanAction
{
    /// <summary>Nothing decided: more bytes are needed (or a header block waits until the bytes before it are forwarded).</summary>
    NeedMore,
    /// <summary>Forward the next <see cref="ScanResult.Length"/> bytes unchanged.</summary>
    Forward,
    /// <summary>Drop the next <see cref="ScanResult.Length"/> bytes and forward <see cref="ScanResult.Replacement"/> instead.</summary>
    Replace,
}

internal readonly record struct ScanResult(ScanAction Action, long Length, ReadOnlyMemory<byte> Replacement)
{
    public static readonly ScanResult NeedMore = new(ScanAction.NeedMore, 0, default);
}

/// <summary>
/// Watches the frames an HTTP/2 client sends and rewrites the header blocks whose <c>:authority</c> or <c>host</c>
/// Kestrel would refuse (see <see cref="AuthorityNormalizer"/>); every other byte is forwarded as it came.
/// </summary>
/// <remarks>
/// <para>Every header block is decoded, to keep a copy of the client encoder's dynamic table. Until a block needs a
/// change, blocks are forwarded as sent and the server's table matches ours. A changed block is re-encoded without
/// dynamic-table indexing (<see cref="HpackLiteralEncoder"/>), so from then on the server's table no longer matches the
/// client's and every later block is re-encoded too (<see cref="IsReencoding"/>).</para>
/// <para>Kestrel stays the judge of what is valid. Before re-encoding starts, anything this class cannot follow (a
/// malformed block or frame, a limit passed) is forwarded untouched and watching stops: Kestrel sees exactly what the
/// client sent. Once re-encoding, such a block is replaced by <see cref="PoisonFrame"/>, which Kestrel cannot decode:
/// it ends the connection with GOAWAY(COMPRESSION_ERROR).</para>
/// <para>Not thread-safe: one per connection, fed in order.</para>
/// </remarks>
internal sealed class ClientHeaderRewriter
{
    private static readonly byte[] AuthorityName = ":authority"u8.ToArray();
    private static readonly byte[] HostName = "host"u8.ToArray();

    private readonly ClientHeaderRewriterOptions _options;
    private readonly HpackDecoder _decoder;
    private readonly HeaderFieldList _fields;
    private readonly ArrayBufferWriter<byte> _fragments = new();
    private readonly ArrayBufferWriter<byte> _block = new();
    private readonly Dictionary<int, byte[]> _replacements = [];
    private readonly byte[] _priority = new byte[Http2Frame.PriorityFieldsLength];
    private long _forwardRemaining = Http2Frame.ClientPrefaceLength; // bytes of the current forwarded frame (or preface) still to come

    public ClientHeaderRewriter(ClientHeaderRewriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _decoder = new HpackDecoder(options.HeaderTableSizeBytes);
        _fields = new HeaderFieldList(options.HeaderListMaxBytes);
    }

    /// <summary>False once something could not be followed: everything after is forwarded unchanged.</summary>
    public bool IsWatching { get; private set; } = true;

    /// <summary>True once a block was rewritten: every later block is re-encoded.</summary>
    public bool IsReencoding { get; private set; }

    /// <summary>Fields whose value was replaced so far.</summary>
    public int RewrittenFields { get; private set; }

    /// <summary>The last replacement made, for logs: "name 'old' -> 'new'".</summary>
    public string? LastRewrite { get; private set; }

    /// <summary>Why watching stopped, for logs.</summary>
    public string? StopReason { get; private set; }

    /// <summary>Decides about the start of <paramref name="buffer"/> (the bytes after all earlier results).</summary>
    /// <param name="mayReplace">False while forwarded bytes are still pending: a header block then waits (NeedMore).</param>
    /// <param name="isCompleted">No more bytes will come: an unfinished frame is forwarded as it is.</param>
    public ScanResult Scan(ReadOnlySequence<byte> buffer, bool mayReplace, bool isCompleted)
    {
        if (buffer.IsEmpty) return ScanResult.NeedMore;
        if (!IsWatching) return Forward(buffer.Length);
        var forward = SkipForwardedFrames(buffer);
        if (forward > 0) return Forward(forward);
        // At a frame boundary, and the frame is HEADERS or CONTINUATION, or its header is incomplete.
        if (buffer.Length < Http2Frame.HeaderLength) return isCompleted ? Forward(buffer.Length) : ScanResult.NeedMore;
        if (!mayReplace) return ScanResult.NeedMore;
        return ScanHeaderBlock(buffer, isCompleted);
    }

    private ScanResult Forward(long length) => new(ScanAction.Forward, length, default);

    /// <summary>The length of the run of frames (other than header blocks) at the start of the buffer.</summary>
    private long SkipForwardedFrames(ReadOnlySequence<byte> buffer)
    {
        long position = 0;
        Span<byte> header = stackalloc byte[Http2Frame.HeaderLength];
        while (true)
        {
            if (_forwardRemaining > 0)
            {
                var take = Math.Min(_forwardRemaining, buffer.Length - position);
                position += take;
                _forwardRemaining -= take;
                if (_forwardRemaining > 0) return position; // the buffer ends inside the frame
            }
            if (buffer.Length - position < Http2Frame.HeaderLength) return position;
            buffer.Slice(position, Http2Frame.HeaderLength).CopyTo(header);
            var frame = Http2Frame.ReadHeader(header);
            if (frame.Type == Http2Frame.TypeHeaders) return position;
            // A CONTINUATION outside a block is a protocol error for Kestrel to report; anything else passes.
            _forwardRemaining = Http2Frame.HeaderLength + (long)frame.Length;
        }
    }

    private ScanResult ScanHeaderBlock(ReadOnlySequence<byte> buffer, bool isCompleted)
    {
        var assembly = AssembleBlock(buffer, out var blockLength, out var first, out var hasPriority);
        if (assembly is { } failure) return failure.Length < 0 ? (isCompleted ? Forward(buffer.Length) : ScanResult.NeedMore) : Refuse(failure.Reason, buffer, first);
        try
        {
            _decoder.Decode(_fragments.WrittenSpan, _fields);
        }
        catch (HpackDecodingException e)
        {
            return Refuse(e.Message, buffer, first, blockLength);
        }
        var rewritten = FindRewrites();
        if (rewritten == 0 && !IsReencoding) return Forward(blockLength);
        IsReencoding = true;
        RewrittenFields += rewritten;
        _block.ResetWrittenCount();
        for (var i = 0; i < _fields.Count; i++)
        {
            var value = _replacements.TryGetValue(i, out var replaced) ? replaced : _fields.Value(i);
            HpackLiteralEncoder.WriteField(_block, _fields.Name(i), value, _fields.NeverIndexed(i));
        }
        // A fresh buffer: the reader holds a replacement until the server has consumed it.
        var frameCount = _block.WrittenCount / _options.MaxFrameSizeBytes + 1;
        var frames = new ArrayBufferWriter<byte>(_block.WrittenCount + frameCount * Http2Frame.HeaderLength + Http2Frame.PriorityFieldsLength);
        Http2Frame.WriteHeaderBlock(frames, first.StreamId, (first.Flags & Http2Frame.FlagEndStream) != 0,
            hasPriority ? _priority : default, _block.WrittenSpan, _options.MaxFrameSizeBytes);
        return new ScanResult(ScanAction.Replace, blockLength, frames.WrittenMemory);
    }

    private int FindRewrites()
    {
        _replacements.Clear();
        for (var i = 0; i < _fields.Count; i++)
        {
            var name = _fields.Name(i);
            if (!name.SequenceEqual(AuthorityName) && !name.SequenceEqual(HostName)) continue;
            var value = _fields.Value(i);
            if (AuthorityNormalizer.IsPlainAuthority(value)) continue;
            var replacement = AuthorityNormalizer.Normalize(value, _options.FallbackAuthority);
            LastRewrite = $"{Encoding.Latin1.GetString(name)} '{Encoding.Latin1.GetString(value)}' -> '{Encoding.ASCII.GetString(replacement)}'";
            _replacements[i] = replacement;
        }
        return _replacements.Count;
    }

    /// <summary>
    /// Collects the fragments of the header block at the start of the buffer into <see cref="_fragments"/>. Returns null
    /// when complete; (-1, _) when more bytes are needed; (0, reason) when the frames are not a valid block or pass a limit.
    /// </summary>
    private (long Length, string Reason)? AssembleBlock(ReadOnlySequence<byte> buffer, out long blockLength, out Http2Frame.Header first, out bool hasPriority)
    {
        _fragments.ResetWrittenCount();
        blockLength = 0;
        hasPriority = false;
        first = default;
        Span<byte> header = stackalloc byte[Http2Frame.HeaderLength];
        long position = 0;
        while (true)
        {
            if (buffer.Length - position < Http2Frame.HeaderLength) return (-1, "");
            buffer.Slice(position, Http2Frame.HeaderLength).CopyTo(header);
            var frame = Http2Frame.ReadHeader(header);
            var isFirst = position == 0;
            if (isFirst) first = frame;
            if (frame.Length > _options.MaxFrameSizeBytes) return (0, $"frame of {frame.Length} bytes above SETTINGS_MAX_FRAME_SIZE");
            if (!isFirst && (frame.Type != Http2Frame.TypeContinuation || frame.StreamId != first.StreamId))
                return (0, "header block interrupted by another frame");
            if (buffer.Length - position - Http2Frame.HeaderLength < frame.Length) return (-1, "");
            var payload = buffer.Slice(position + Http2Frame.HeaderLength, frame.Length);
            var fragment = isFirst ? HeadersFragment(payload, frame.Flags, ref hasPriority) : payload;
            if (fragment is not { } f) return (0, "HEADERS padding or priority longer than the frame");
            if (_fragments.WrittenCount + f.Length > _options.HeaderBlockMaxBytes) return (0, $"header block above {_options.HeaderBlockMaxBytes} bytes");
            foreach (var segment in f) _fragments.Write(segment.Span);
            position += Http2Frame.HeaderLength + frame.Length;
            if ((frame.Flags & Http2Frame.FlagEndHeaders) != 0)
            {
                blockLength = position;
                return null;
            }
        }
    }

    /// <summary>The block fragment of a HEADERS payload (section 6.2): without pad length, priority fields and padding.</summary>
    private ReadOnlySequence<byte>? HeadersFragment(ReadOnlySequence<byte> payload, byte flags, ref bool hasPriority)
    {
        long start = 0;
        long padding = 0;
        if ((flags & Http2Frame.FlagPadded) != 0)
        {
            if (payload.Length < 1) return null;
            padding = payload.FirstSpan[0];
            start = 1;
        }
        if ((flags & Http2Frame.FlagPriority) != 0)
        {
            if (payload.Length < start + Http2Frame.PriorityFieldsLength) return null;
            payload.Slice(start, Http2Frame.PriorityFieldsLength).CopyTo(_priority);
            hasPriority = true;
            start += Http2Frame.PriorityFieldsLength;
        }
        if (start + padding > payload.Length) return null;
        return payload.Slice(start, payload.Length - start - padding);
    }

    private ScanResult Refuse(string reason, ReadOnlySequence<byte> buffer, Http2Frame.Header first, long blockLength = 0)
    {
        IsWatching = false;
        StopReason = reason;
        if (!IsReencoding) return Forward(buffer.Length);
        return new ScanResult(ScanAction.Replace, blockLength > 0 ? blockLength : buffer.Length, PoisonFrame(first.StreamId));
    }

    /// <summary>
    /// A HEADERS frame naming an index past the largest dynamic table the server allows: a decoding error (RFC 7541
    /// section 2.3.3) that Kestrel answers with GOAWAY(COMPRESSION_ERROR). Index 0, the other obvious choice, makes
    /// Kestrel (10.0) fail with an IndexOutOfRangeException and GOAWAY(INTERNAL_ERROR) instead.
    /// </summary>
    internal ReadOnlyMemory<byte> PoisonFrame(int streamId)
    {
        var index = HpackStaticTable.Count + _options.HeaderTableSizeBytes / HpackDynamicTable.EntryOverheadBytes + 1;
        var block = new ArrayBufferWriter<byte>(8);
        HpackLiteralEncoder.WriteInteger(block, 0x80, 7, index);
        var frame = new ArrayBufferWriter<byte>(Http2Frame.HeaderLength + block.WrittenCount);
        Http2Frame.WriteHeader(frame, block.WrittenCount, Http2Frame.TypeHeaders, Http2Frame.FlagEndHeaders, streamId);
        frame.Write(block.WrittenSpan);
        return frame.WrittenMemory;
    }
}
