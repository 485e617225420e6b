using RaftKv.Raft.Hosting;

namespace RaftKv.Raft.Transport;

/// <summary>
/// One payload being accepted: <see cref="ISnapshotPayloads.AcceptPayload"/> runs on a thread of its own over a
/// <see cref="PayloadStream"/> while the gRPC handler feeds it checked chunks, so the payload is staged as it arrives
/// and never held whole in memory. Disposing cancels the call to AcceptPayload if it is still running and waits for
/// it to return: the receiver's single accept slot is held exactly as long as AcceptPayload runs.
/// </summary>
internal sealed class PayloadReceive : IAsyncDisposable
{
    private readonly PayloadStream _stream;
    private readonly Task<ReadOnlyMemory<byte>> _accept;
    // Cancels AcceptPayload (and its reads): the call was cancelled or broke, or the transfer was abandoned.
    private readonly CancellationTokenSource _cancel;
    // Cancelled once AcceptPayload has returned, so that a write waiting for room in the buffer gives up.
    private readonly CancellationTokenSource _acceptEnded = new();
    private readonly Task _acceptEndedSignal;

    public PayloadReceive(ISnapshotPayloads payloads, SnapshotMetadata metadata, int bufferChunks, CancellationToken callToken)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(callToken);
        var token = _cancel.Token;
        _stream = new PayloadStream(bufferChunks, token);
        var stream = _stream;
        // A thread of its own: AcceptPayload reads synchronously and writes to disk, for as long as the transfer lasts.
        _accept = Task.Factory.StartNew(() => payloads.AcceptPayload(metadata, stream, token), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _acceptEndedSignal = _accept.ContinueWith(static (_, ended) => ((CancellationTokenSource)ended!).Cancel(), _acceptEnded,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Hands a checked chunk to AcceptPayload; returns why not when it already ended (it failed or returned early).</summary>
    public async ValueTask<string?> WriteAsync(ReadOnlyMemory<byte> chunk)
    {
        if (_accept.IsCompleted) return await EndedEarlyReasonAsync().ConfigureAwait(false);
        try
        {
            await _stream.WriteChunkAsync(chunk, _acceptEnded.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (_acceptEnded.IsCancellationRequested)
        {
            return await EndedEarlyReasonAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The whole payload arrived intact: lets AcceptPayload reach the end and returns its descriptor.</summary>
    /// <exception cref="InvalidDataException">AcceptPayload refused the payload, or returned before its end.</exception>
    public async Task<ReadOnlyMemory<byte>> FinishAsync()
    {
        _stream.Complete();
        var descriptor = await _accept.ConfigureAwait(false);
        if (!_stream.ReachedEnd) throw new InvalidDataException("the state machine returned from AcceptPayload before reading the payload to its end");
        return descriptor;
    }

    /// <summary>The transfer is bad: AcceptPayload's reads throw <see cref="InvalidDataException"/>; waits for it to return.</summary>
    public async Task FailAsync(string reason)
    {
        _stream.Fail(reason);
        await EndAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_accept.IsCompleted)
        {
            _stream.Fail("the snapshot transfer was abandoned");
            await _cancel.CancelAsync().ConfigureAwait(false);
        }
        await EndAsync().ConfigureAwait(false);
        await _acceptEndedSignal.ConfigureAwait(false);
        _cancel.Dispose();
        _acceptEnded.Dispose();
    }

    /// <summary>Why a refused payload was refused, in words for the sender.</summary>
    public static string Describe(Exception e) => e switch
    {
        InvalidDataException => e.Message,
        OperationCanceledException => "the snapshot transfer was cancelled",
        _ => $"the state machine could not stage the payload: {e.Message}",
    };

    private async Task<string> EndedEarlyReasonAsync()
    {
        try
        {
            await _accept.ConfigureAwait(false);
            return "the state machine returned from AcceptPayload before reading the payload to its end";
        }
        catch (Exception e)
        {
            return Describe(e);
        }
    }

    private async Task EndAsync()
    {
        try
        {
            await _accept.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The transfer already failed for a reason of the transport's own; AcceptPayload's view adds nothing.
        }
    }
}
