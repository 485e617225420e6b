namespace RaftKv.Raft.Hosting;

/// <summary>
/// Snapshots without stopping the loop (paper section 7): the loop only captures the state machine (quick) and
/// later publishes the result; serializing and writing the file happen on a thread-pool thread meanwhile, while
/// entries keep committing and heartbeats keep going out.
/// </summary>
public sealed partial class RaftHost
{
    // Loop-thread state. At most one snapshot is in progress.
    private Task<WrittenSnapshot>? _snapshotJob;
    private (TimeSpan Capture, TimeSpan? CaptureCpu, long StartedTimestamp) _snapshotStarted;
    // After a failed attempt, the next one waits for this applied index (another SnapshotEveryEntries entries).
    private ulong _snapshotRetryIndex;

    private void MaybeSnapshot(RaftNode node)
    {
        if (_snapshotJob is { IsCompleted: true } job)
        {
            _snapshotJob = null;
            FinishSnapshot(job);
        }
        var applied = node.AppliedIndex;
        if (_snapshotJob is not null || _options.SnapshotEveryEntries == 0
            || applied - _lastSnapshotIndex < _options.SnapshotEveryEntries || applied < _snapshotRetryIndex) return;
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        var startedCpu = ThreadCpuClock.Now();
        var lookup = _store.TryGetTerm(applied, out var term);
        RaftInvariantException.Assert(lookup == LogLookup.Ok, $"applied index {applied} is not in the log ({lookup})");
        var metadata = new SnapshotMetadata(applied, term, node.Membership);
        var capture = _stateMachine.CaptureSnapshot();
        var captureCpu = ThreadCpuClock.Since(startedCpu); // the CPU interval lies within the wall one
        _snapshotStarted = (time.GetElapsedTime(started), captureCpu, started);
        _snapshotJob = Task.Run(() => WriteSnapshot(metadata, capture));
        // Wake the loop once the job has completed (not merely returned), so it finds it done and publishes it.
        _snapshotJob.ContinueWith(static (_, wake) => ((AutoResetEvent)wake!).Set(), _wake, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Off the loop: serializes the capture and stages it in storage.</summary>
    private WrittenSnapshot WriteSnapshot(SnapshotMetadata metadata, IStateMachineSnapshot capture)
    {
        var started = _options.TimeProvider.GetTimestamp();
        using var buffer = new MemoryStream((int)Math.Clamp(capture.SizeHintBytes, 0, Array.MaxLength));
        capture.WriteTo(buffer);
        var staged = _store.StageSnapshot(metadata, buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        return new WrittenSnapshot(staged, _options.TimeProvider.GetElapsedTime(started));
    }

    /// <summary>On the loop: publishes a staged snapshot (the log is compacted) or reports why there is none.</summary>
    private void FinishSnapshot(Task<WrittenSnapshot> job)
    {
        var index = _node!.AppliedIndex;
        if (!job.IsCompletedSuccessfully)
        {
            // Nothing the log depends on was touched (disk full, a state machine that failed to write): try again
            // after another interval; the log keeps growing until then.
            _snapshotRetryIndex = index + _options.SnapshotEveryEntries;
            LogSnapshotFailed(_logger, _snapshotRetryIndex, job.Exception?.GetBaseException() ?? new OperationCanceledException());
            return;
        }
        var (staged, writeTime) = job.Result;
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        var startedCpu = ThreadCpuClock.Now();
        var published = _store.PublishSnapshot(staged);
        var publishCpu = ThreadCpuClock.Since(startedCpu);
        var publishTime = time.GetElapsedTime(started);
        if (published is null)
        {
            LogSnapshotSuperseded(_logger, staged.Snapshot.Index, _lastSnapshotIndex);
            return;
        }
        _lastSnapshotIndex = published.Index;
        var loopCpu = _snapshotStarted.CaptureCpu + publishCpu;
        Stats.RecordSnapshot(_snapshotStarted.Capture + publishTime, loopCpu);
        LogSnapshot(_logger, published.Index, published.Data.Length, _snapshotStarted.Capture.TotalMilliseconds, publishTime.TotalMilliseconds,
            loopCpu?.TotalMilliseconds ?? double.NaN, writeTime.TotalMilliseconds, time.GetElapsedTime(_snapshotStarted.StartedTimestamp).TotalMilliseconds);
    }

    /// <summary>After the loop stopped: waits for a snapshot being written and discards it, so storage may be closed.</summary>
    private async Task AbandonSnapshotAsync()
    {
        if (_snapshotJob is not { } job) return;
        _snapshotJob = null;
        try
        {
            var written = await job.ConfigureAwait(false);
            _store.DiscardSnapshot(written.Staged);
        }
        catch (Exception e)
        {
            LogSnapshotFailed(_logger, 0, e);
        }
    }

    private sealed record WrittenSnapshot(StagedSnapshot Staged, TimeSpan WriteTime);
}
