using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using RaftKv.Http.Observe;
using RaftKv.Server;

namespace RaftKv.Http.Cluster;

/// <summary>
/// Gathers <see cref="ClusterSnapshot"/>s by asking every peer for its <see cref="MemberView"/> (in parallel,
/// bounded by a timeout) and hands each snapshot, serialized once, to the open event streams. It polls only while
/// someone watches (every <see cref="Interval"/>, sooner after a local role change), rarely otherwise, one poll at a time.
/// </summary>
public sealed class ClusterWatcher
{
    /// <summary>Open event streams allowed at once.</summary>
    public const int MaxSubscribers = 16;

    /// <summary>Time between snapshots while watched.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    /// <summary>Time between polls while nobody watches: keeps peers' HTTP URLs and command lines known (for CORS and restarts).</summary>
    public static readonly TimeSpan IdleInterval = TimeSpan.FromSeconds(5);

    /// <summary>How long a peer may take to answer.</summary>
    public static readonly TimeSpan PeerTimeout = TimeSpan.FromMilliseconds(400);

    private const int TimelineShown = 80;

    private static readonly TimeSpan MinGap = TimeSpan.FromMilliseconds(100);

    private readonly LocalView _local;
    private readonly PeerClient _peers;
    private readonly ConcurrentDictionary<long, Channel<byte[]>> _subscribers = new();
    private readonly ConcurrentDictionary<ulong, (MemberView View, long SeenAt)> _lastKnown = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly SemaphoreSlim _pollGate = new(1, 1);
    private long _nextSubscriber;
    private volatile Tuple<ClusterSnapshot, byte[], long>? _latest;

    /// <summary>Creates the watcher; <see cref="RunAsync"/> drives it.</summary>
    public ClusterWatcher(LocalView local, PeerClient peers, NodeObserver observer)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(observer);
        _local = local;
        _peers = peers;
        observer.TimelineChanged += () => _wake.Writer.TryWrite(true);
    }

    /// <summary>Open event streams.</summary>
    public int Subscribers => _subscribers.Count;

    /// <summary>The last view each member sent (for restarting a stopped member and resuming a paused one).</summary>
    public MemberView? LastKnown(ulong memberId) => _lastKnown.TryGetValue(memberId, out var known) ? known.View : null;

    /// <summary>HTTP origins of all members seen so far (for CORS).</summary>
    public IEnumerable<string> KnownHttpOrigins => _lastKnown.Values.SelectMany(v => v.View.HttpUrls).Concat(_local.HttpUrls);

    /// <summary>Opens an event stream; false when <see cref="MaxSubscribers"/> are already open.</summary>
    public bool TrySubscribe(out Subscription subscription)
    {
        subscription = null!;
        if (_subscribers.Count >= MaxSubscribers) return false;
        var id = Interlocked.Increment(ref _nextSubscriber);
        var channel = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(2) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        if (_latest is { } latest) channel.Writer.TryWrite(latest.Item2);
        _subscribers[id] = channel;
        _wake.Writer.TryWrite(true);
        subscription = new Subscription(this, id, channel.Reader);
        return true;
    }

    /// <summary>A snapshot at most one interval old (polls now if there is none).</summary>
    public async Task<ClusterSnapshot> CurrentAsync(CancellationToken cancellationToken)
    {
        if (_latest is { } latest && Environment.TickCount64 - latest.Item3 < Interval.TotalMilliseconds) return latest.Item1;
        return (await PollAsync(cancellationToken).ConfigureAwait(false)).Item1;
    }

    /// <summary>Polls every <see cref="Interval"/> while watched (every <see cref="IdleInterval"/> otherwise), until <paramref name="stopping"/>.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var (_, bytes, _) = await PollAsync(stopping).ConfigureAwait(false);
                foreach (var channel in _subscribers.Values) channel.Writer.TryWrite(bytes);
                await Task.Delay(MinGap, stopping).ConfigureAwait(false); // a burst of role changes must not turn into a burst of polls
                using var next = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                next.CancelAfter(_subscribers.IsEmpty ? IdleInterval : Interval);
                try
                {
                    await _wake.Reader.ReadAsync(next.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<Tuple<ClusterSnapshot, byte[], long>> PollAsync(CancellationToken cancellationToken)
    {
        var before = _latest;
        await _pollGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Someone else polled while we waited: theirs is fresh enough.
            if (_latest is { } latest && !ReferenceEquals(latest, before)) return latest;
            var current = LiveMembers.Of(_local.Node);
            var members = await Task.WhenAll(current.Select(m => AskAsync(m, cancellationToken))).ConfigureAwait(false);
            foreach (var gone in _lastKnown.Keys.Where(id => current.All(m => m.Id != id)).ToArray()) _lastKnown.TryRemove(gone, out _); // removed members
            var snapshot = Build(members);
            var result = Tuple.Create(snapshot, JsonSerializer.SerializeToUtf8Bytes(snapshot, PeerClient.Json), Environment.TickCount64);
            _latest = result;
            return result;
        }
        finally
        {
            _pollGate.Release();
        }
    }

    private async Task<ClusterMember> AskAsync(LiveMember member, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var peerUrl = member.PeerUrl?.GetLeftPart(UriPartial.Authority) ?? "";
        var id = StatusReply.Hex(member.Id);
        var role = member.IsLearner ? "learner" : "voter";
        if (member.Id == _local.Node.Settings.Self.Id)
            return new ClusterMember(member.Name, id, peerUrl, true, null, now, _local.Build(), role);
        var known = _lastKnown.TryGetValue(member.Id, out var k) ? k : default;
        if (member.Reachable is not { } target)
            return new ClusterMember(member.Name, id, peerUrl, false, "no peer URL in the member table", known.View is null ? null : known.SeenAt, known.View, role);
        try
        {
            var view = await _peers.ViewAsync(target, PeerTimeout, cancellationToken).ConfigureAwait(false);
            _lastKnown[member.Id] = (view, now);
            return new ClusterMember(member.Name, id, peerUrl, true, null, now, view, role);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or JsonException or IOException)
        {
            var why = member.IsStarted || known.View is not null ? Describe(e) : "added, not started yet: " + Describe(e);
            return new ClusterMember(member.Name, id, peerUrl, false, why, known.View is null ? null : known.SeenAt, known.View, role);
        }
    }

    private static string Describe(Exception e) => e switch
    {
        HttpRequestException { InnerException: System.Net.Sockets.SocketException s } => s.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused
            ? "connection refused (stopped?)" : s.Message,
        TimeoutException => "no answer (paused or overloaded?)",
        _ => e.Message,
    };

    private ClusterSnapshot Build(ClusterMember[] members)
    {
        var live = members.Where(m => m.Reachable && m.View is not null).Select(m => m.View!).ToArray();
        var withStatus = live.Where(v => v.Status is not null).ToArray();
        var term = withStatus.Length == 0 ? 0 : withStatus.Max(v => v.Status!.Term);
        var leaderView = withStatus.Where(v => v.Status!.Role == "leader").MaxBy(v => v.Status!.Term);
        var leader = leaderView?.Name ?? withStatus.Where(v => v.Status!.Term == term && v.Status.LeaderName.Length > 0).Select(v => v.Status!.LeaderName).FirstOrDefault() ?? "";
        var ahead = withStatus.MaxBy(v => v.Status!.Applied);
        var rateSource = leaderView ?? ahead;
        var timeline = members.Where(m => m.View is not null).SelectMany(m => m.View!.Timeline)
            .DistinctBy(e => (e.Member, e.Seq)).OrderBy(e => e.Time).DistinctBy(e => (e.Member, e.Kind, e.Term, e.Text)) // repeated pre-vote grants
            .OrderBy(e => e.Time).ThenBy(e => e.Member, StringComparer.Ordinal).ThenBy(e => e.Seq)
            .TakeLast(TimelineShown).ToArray();
        var latency = live.Where(v => v.WriteLatency is not null).MaxBy(v => v.WriteLatency!.Count)?.WriteLatency;
        return new ClusterSnapshot(_local.Node.Settings.Name, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), _local.Node.Settings.AllowFaultInjection,
            leader, term, members, timeline, ahead?.LogTail ?? [], rateSource?.WritesPerSecond ?? 0, rateSource?.WritesHistory ?? [], latency);
    }

    private void Unsubscribe(long id)
    {
        if (_subscribers.TryRemove(id, out var channel)) channel.Writer.TryComplete();
    }

    /// <summary>One open event stream: serialized snapshots to write; dispose to close.</summary>
    public sealed class Subscription(ClusterWatcher owner, long id, ChannelReader<byte[]> reader) : IDisposable
    {
        /// <summary>Snapshots as UTF-8 JSON, newest last (old ones dropped when the client is slow).</summary>
        public ChannelReader<byte[]> Reader => reader;

        /// <inheritdoc />
        public void Dispose() => owner.Unsubscribe(id);
    }
}
