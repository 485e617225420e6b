using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using RaftKv.Server;

namespace RaftKv.Http.Metrics;

/// <summary>Pings every peer (as the member table lists them) over the Raft peer connection every 2 s and records the round trip (metrics and dashboard).</summary>
public sealed class PeerProber(NodeContext node, RaftKvMetrics metrics)
{
    /// <summary>Time between rounds.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, double> _lastMs = new(StringComparer.Ordinal);

    /// <summary>The last round trip (ms) to each peer that answered its latest ping.</summary>
    public IReadOnlyDictionary<string, double> LastRoundTripMs => new Dictionary<string, double>(_lastMs, StringComparer.Ordinal);

    /// <summary>Runs until <paramref name="stopping"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                // The peers now (the member table): one added later is probed, a removed one forgotten.
                var peers = LiveMembers.Peers(node);
                foreach (var gone in _lastMs.Keys.Where(name => peers.All(p => p.Name != name)).ToArray()) _lastMs.TryRemove(gone, out _);
                await Task.WhenAll(peers.Select(p => PingAsync(p, stopping))).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PingAsync(Member peer, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(Timeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await node.Transport.PingAsync(peer.Id, timeout.Token).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            metrics.ObservePeerRtt(peer.Name, elapsed);
            _lastMs[peer.Name] = Math.Round(elapsed.TotalMilliseconds, 3);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException or ArgumentException)
        {
            _lastMs.TryRemove(peer.Name, out _);
        }
    }
}
