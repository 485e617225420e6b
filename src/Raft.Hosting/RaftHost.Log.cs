using Microsoft.Extensions.Logging;

namespace RaftKv.Raft.Hosting;

public sealed partial class RaftHost
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Text}")]
    private static partial void LogRoleEvent(ILogger logger, string text);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "{Text}")]
    private static partial void LogDetailEvent(ILogger logger, string text);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "dropped {Count} raft events: more than the limit happened between two loop iterations")]
    private static partial void LogDroppedEvents(ILogger logger, int count);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "dropped an invalid message from {From}: {Reason}")]
    private static partial void LogInvalidMessage(ILogger logger, ulong from, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Critical, Message = "raft loop stopped by a fatal error; the node must be restarted")]
    private static partial void LogFatal(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information,
        Message = "snapshot at index {Index} ({Bytes} bytes), log compacted: loop held {CaptureMs:F1} ms to capture and {PublishMs:F1} ms to publish ({LoopCpuMs:F1} ms of its own CPU); written off the loop in {WriteMs:F1} ms; {TotalMs:F0} ms in all")]
    private static partial void LogSnapshot(ILogger logger, ulong index, int bytes, double captureMs, double publishMs, double loopCpuMs, double writeMs, double totalMs);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "snapshot failed; the log keeps growing; next attempt at applied index {RetryIndex}")]
    private static partial void LogSnapshotFailed(ILogger logger, ulong retryIndex, Exception exception);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "the raft loop keeps its priority (nice {Nice} not set: {Reason})")]
    private static partial void LogNiceNotSet(ILogger logger, int nice, string reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "snapshot at index {Index} discarded: a newer snapshot (index {Current}) arrived from the leader while it was written")]
    private static partial void LogSnapshotSuperseded(ILogger logger, ulong index, ulong current);
}
