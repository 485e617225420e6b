using System.Buffers;
using System.IO.Pipelines;

namespace RaftKv.Server.Http2;

/// <summary>
/// The connection's input as Kestrel reads it: the client's bytes, with the header blocks that
/// <see cref="ClientHeaderRewriter"/> replaces swapped for their rewritten frames.
/// </summary>
/// <remarks>
/// <para>Forwarded bytes are handed out as slices of the inner reader's own buffer (no copy); the consumer's
/// <see cref="AdvanceTo(SequencePosition, SequencePosition)"/> goes straight to the inner reader. A replaced block is
/// consumed from the inner reader at once and its replacement handed out from an owned buffer until consumed.</para>
/// <para>Invariant: <c>_approvedBytes</c> counts bytes at the start of the inner buffer that the rewriter has said to forward
/// and the consumer has not consumed. A replacement is only made when that count is 0, so bytes keep their order.</para>
/// <para>Like any <see cref="PipeReader"/>: one reader at a time, each read followed by one AdvanceTo.</para>
/// </remarks>
internal sealed class RewritingPipeReader(PipeReader inner, ClientHeaderRewriter rewriter) : PipeReader
{
    private long _approvedBytes;
    private ReadOnlyMemory<byte> _replacement; // the unconsumed rest of a replaced block
    private bool _handingOutReplacement;
    private ReadOnlySequence<byte> _handedOut; // what the last read returned, to count what AdvanceTo consumed

    public ClientHeaderRewriter Rewriter => rewriter;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (TryHandOutReplacement(out var replaced)) return replaced;
            var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (TryProduce(result, out var produced)) return produced;
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        if (TryHandOutReplacement(out result)) return true;
        while (inner.TryRead(out var innerResult))
        {
            if (TryProduce(innerResult, out result)) return true;
        }
        result = default;
        return false;
    }

    private bool TryHandOutReplacement(out ReadResult result)
    {
        if (_replacement.IsEmpty)
        {
            result = default;
            return false;
        }
        _handingOutReplacement = true;
        _handedOut = new ReadOnlySequence<byte>(_replacement);
        result = new ReadResult(_handedOut, isCanceled: false, isCompleted: false);
        return true;
    }

    /// <summary>Scans the inner buffer; false (inner reader advanced) when nothing can be handed out yet.</summary>
    private bool TryProduce(ReadResult result, out ReadResult produced)
    {
        var buffer = result.Buffer;
        while (_approvedBytes < buffer.Length)
        {
            var scan = rewriter.Scan(buffer.Slice(_approvedBytes), mayReplace: _approvedBytes == 0, result.IsCompleted);
            if (scan.Action == ScanAction.Forward)
            {
                _approvedBytes += scan.Length;
                continue;
            }
            if (scan.Action == ScanAction.Replace)
            {
                inner.AdvanceTo(buffer.GetPosition(scan.Length));
                _replacement = scan.Replacement;
                return TryHandOutReplacement(out produced);
            }
            break; // NeedMore
        }
        var available = Math.Min(_approvedBytes, buffer.Length);
        if (available > 0 || result.IsCanceled || result.IsCompleted)
        {
            _handingOutReplacement = false;
            _handedOut = buffer.Slice(0, available);
            produced = new ReadResult(_handedOut, result.IsCanceled, result.IsCompleted && available == buffer.Length);
            return true;
        }
        inner.AdvanceTo(buffer.Start, buffer.End);
        produced = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        var consumedBytes = _handedOut.Slice(0, consumed).Length;
        _handedOut = default;
        if (_handingOutReplacement)
        {
            // Already consumed from the inner reader when it was made; a replacement is whole frames, which Kestrel
            // consumes whole, so "examined but not consumed" does not arise here.
            _replacement = _replacement[(int)consumedBytes..];
            _handingOutReplacement = false;
            return;
        }
        // The slice handed out shares the inner buffer's positions, so they pass on unchanged.
        _approvedBytes -= consumedBytes;
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
}
