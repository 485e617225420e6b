namespace RaftKv.Server.Watch;

/// <summary>Bounds on watching, per member. etcd has none of its own; a hostile client must not exhaust a member.</summary>
public sealed record WatchLimits
{
    /// <summary>The defaults.</summary>
    public static WatchLimits Default { get; } = new();

    /// <summary>Watch streams open on one member at most; one more is refused with RESOURCE_EXHAUSTED.</summary>
    public int StreamsMax { get; init; } = 10_000;

    /// <summary>Watchers on one stream at most; one more is created cancelled, with the reason.</summary>
    public int WatchersPerStreamMax { get; init; } = 100_000;

    /// <summary>Requests (create, cancel, progress) read ahead of the stream's sender at most; the client waits beyond.</summary>
    public int PendingRequestsMax { get; init; } = 1_024;

    /// <summary>How often a watcher created with progress_notify hears the revision when it has had no events
    /// (etcd's --experimental-watch-progress-notify-interval).</summary>
    public TimeSpan ProgressNotifyInterval { get; init; } = TimeSpan.FromMinutes(10);
}
