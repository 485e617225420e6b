using System.Threading.Channels;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv;
using RaftKv.Raft;
using RaftKv.Server.Etcd;

namespace RaftKv.Server.Watch;

/// <summary>
/// One Watch stream: many watchers, one sender. The client's requests are read ahead into a bounded queue; the
/// sender alone touches the watchers and writes responses, at the pace the client reads them (gRPC flow control),
/// so a slow client only falls behind, from the recent window into the store's history, and never grows a buffer.
/// </summary>
/// <remarks>
/// Guarantees (etcd's, see its API guarantees page): each watcher's events are in revision order, none twice, none
/// missing, all events of a revision in one response (or in consecutive fragments, when asked for), and a progress
/// notification at revision R comes only after every event at or below R.
/// </remarks>
internal sealed partial class WatchSession
{
    /// <summary>Events per response at most (whole revisions: one larger revision goes alone).</summary>
    public const int ResponseEventsMax = 1_000;

    /// <summary>Encoded events per response at most (whole revisions: one larger revision goes alone, or in fragments).</summary>
    public const long ResponseBytesMax = 1L << 20;

    /// <summary>etcd's auto-assigned watch ids start here and go up.</summary>
    private const long FirstAutoId = 0;

    /// <summary>The watch id of a progress notification for the whole stream (etcd 3.5's clientv3.InvalidWatchID).</summary>
    private const long StreamProgressId = -1;

    /// <summary>Consecutive leaderless checks, one election timeout apart, after which a leader-requiring stream ends (etcd: 3).</summary>
    private const int NoLeaderChecksMax = 3;

    private readonly WatchHub _hub;
    private readonly NodeContext _node;
    private readonly Kv.CommandAuth? _identity;
    private readonly IServerStreamWriter<WatchResponse> _responses;
    private readonly bool _requireLeader;
    private readonly Channel<WatchRequest> _requests;
    // Insertion order is send order within a round; SortedDictionary keeps it stable and cheap to remove from.
    private readonly SortedDictionary<long, Watcher> _watchers = [];
    private readonly List<Event> _selected = [];
    // One round's pages by start revision (null: compacted), with the page's events without prev_kv made so far.
    private readonly Dictionary<long, (KvEventPage? Page, Event?[] WithoutPrevKv)> _roundPages = [];
    private readonly Func<CancellationToken, Task> _flush;
    private long _unflushedBytes;
    private long _nextAutoId = FirstAutoId;
    private bool _progressRequested;
    private int _noLeaderChecks;
    private long _nextProgressTimestamp;
    private long _nextLeaderCheckTimestamp;

    /// <summary>Buffered responses are flushed at least this often (so a round of many watchers never piles up).</summary>
    private const long FlushBytesMin = 1L << 20;

    private static readonly WriteOptions BufferedWrite = new(WriteFlags.BufferHint);

    /// <param name="flush">Flushes responses written with <see cref="WriteFlags.BufferHint"/> to the client.</param>
    public WatchSession(WatchHub hub, NodeContext node, IServerStreamWriter<WatchResponse> responses, bool requireLeader, Func<CancellationToken, Task> flush)
    {
        _flush = flush;
        _identity = Auth.AuthContext.Current; // the stream's caller, as the interceptor found it
        _hub = hub;
        _node = node;
        _responses = responses;
        _requireLeader = requireLeader;
        _requests = Channel.CreateBounded<WatchRequest>(new BoundedChannelOptions(hub.Limits.PendingRequestsMax)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Serves the stream until the client goes away (a half-closed request side keeps it open, as in etcd).</summary>
    public async Task RunAsync(IAsyncStreamReader<WatchRequest> requests, CancellationToken cancellationToken)
    {
        if (_requireLeader && !HasLeader()) throw EtcdErrors.NoLeader();
        if (!_hub.TryOpenStream())
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"raftkv: too many watch streams on this member (at most {_hub.Limits.StreamsMax})"));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reader = ReadRequestsAsync(requests, stop.Token);
        try
        {
            await SendLoopAsync(reader, stop.Token).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _hub.WatchersRemoved(_watchers.Count);
            _watchers.Clear();
            _hub.CloseStream();
        }
    }

    private async Task ReadRequestsAsync(IAsyncStreamReader<WatchRequest> requests, CancellationToken cancellationToken)
    {
        while (await requests.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            await _requests.Writer.WriteAsync(requests.Current, cancellationToken).ConfigureAwait(false);
        }
        // Half-closed: the watchers keep running until the client cancels the call.
    }

    private async Task SendLoopAsync(Task reader, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        _nextProgressTimestamp = time.GetTimestamp() + Ticks(_hub.Limits.ProgressNotifyInterval);
        _nextLeaderCheckTimestamp = time.GetTimestamp() + Ticks(ElectionTimeout);
        Task<bool>? requestWait = null;
        Task? timerWait = null; // one timer at a time: a wake by an event must not leave one behind
        while (true)
        {
            while (_requests.Reader.TryRead(out var request)) await HandleAsync(request, cancellationToken).ConfigureAwait(false);
            var current = _hub.CurrentRevision;
            var advanced = await AdvanceAsync(current, cancellationToken).ConfigureAwait(false);
            if (_progressRequested && AllAt(current))
            {
                _progressRequested = false;
                await SendAsync(new WatchResponse { Header = Header(current), WatchId = StreamProgressId }, cancellationToken).ConfigureAwait(false);
            }
            await TickAsync(time, current, cancellationToken).ConfigureAwait(false);
            if (advanced) continue;
            if (reader.IsFaulted) await reader.ConfigureAwait(false); // the client's side broke: end the call with it
            requestWait ??= reader.IsCompleted ? null : _requests.Reader.WaitToReadAsync(cancellationToken).AsTask();
            if (timerWait is null || timerWait.IsCompleted) timerWait = Task.Delay(NextTimerDelay(time), time, cancellationToken);
            var hub = _hub.WhenAfter(current);
            var woke = requestWait is null ? await Task.WhenAny(hub, timerWait).ConfigureAwait(false) : await Task.WhenAny(requestWait, hub, timerWait).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (woke == requestWait) requestWait = null;
        }
    }

    private TimeSpan ElectionTimeout => TimeSpan.FromMilliseconds(_node.Settings.ElectionTimeoutMs);

    private bool HasLeader() => _node.Status is { } status && status.Leader != RaftNode.None;

    private bool AllAt(long revision)
    {
        foreach (var watcher in _watchers.Values)
        {
            if (watcher.NextRevision <= revision) return false;
        }
        return true;
    }

    private ResponseHeader Header(long revision) => _node.Header(new ResponseHeader { Revision = revision });

    private async Task SendAsync(WatchResponse response, CancellationToken cancellationToken)
    {
        await _responses.WriteAsync(response, cancellationToken).ConfigureAwait(false);
        if (response.Events.Count > 0) _hub.Sent(response.Events.Count);
        if (_responses.WriteOptions is null)
        {
            _unflushedBytes = 0; // written and flushed, with anything buffered before it
            return;
        }
        _unflushedBytes += response.CalculateSize();
        if (_unflushedBytes >= FlushBytesMin) await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_unflushedBytes == 0) return;
        _unflushedBytes = 0;
        await _flush(cancellationToken).ConfigureAwait(false);
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * TimeProvider.System.TimestampFrequency);
}
