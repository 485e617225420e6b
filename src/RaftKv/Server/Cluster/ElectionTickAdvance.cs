using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Transport;

namespace RaftKv.Server.Cluster;

/// <summary>
/// etcd's initial election tick advance, once it can help. A member fresh from a start waits a whole randomized
/// election timeout before it campaigns; after a restart of every member that is a second or two with no leader.
/// Advancing the timer when the node is created (as the core's <c>RaftConfig.InitialElectionTickAdvance</c> does) made
/// restarts of all members split their vote: each campaigned before its peers listened, kept asking for pre-votes
/// every two ticks, and once the peers listened all three were pre-candidates at once, granted each other and became
/// candidates together (3 of 12 restarts, 1.5 s more to a leader; 3 members after 50,000 puts, 2 cores).
/// </summary>
/// <remarks>
/// So the advance waits for both: from the host's start it pings each peer until it answers (again 50 ms after each
/// failure; the first call to a peer that just started takes hundreds of milliseconds, paid while this member is
/// still starting to listen), and as soon as enough answer to make a quorum with it and it listens, fast-forwards the timer to one tick short of the timeout
/// (<see cref="RaftHost.AdvanceElectionTimerAsync"/>): the member campaigns within one heartbeat to one timeout,
/// each member after its own randomized one. A member with no peers advances at once (as etcd does for a one-member
/// cluster, whatever the flag). If no quorum answers within 5 s (etcd waits as long for its peer connections),
/// nothing is advanced and the member waits its whole timeout. Safe while a leader lives: the core leaves a member
/// that has a leader alone, and with pre-vote and check-quorum an early pre-vote is refused and changes no term.
/// </remarks>
internal static partial class ElectionTickAdvance
{
    private static readonly TimeSpan WaitMax = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RetryEvery = TimeSpan.FromMilliseconds(50);
    // A peer's first call is slow while both processes start (measured over 500 ms on 2 busy cores): a probe that gave
    // up sooner would cancel the call just before its answer and pay for a new one.
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Waits (bounded) for a quorum of peers to answer and for <paramref name="listening"/>, then advances the host's
    /// election timer. Start it with the host: the probes run while the member starts to listen.
    /// </summary>
    public static async Task RunAsync(RaftHost host, GrpcTransport transport, int electionTicks, bool enabled, Task listening, ILogger logger, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var peers = transport.Peers.Keys.ToArray();
            if (peers.Length > 0 && !enabled) return;
            var needed = (peers.Length + 1) / 2; // peers that make a quorum with this member
            var answered = needed == 0 ? 0 : await AnsweringAsync(transport, peers, needed, stopping).ConfigureAwait(false);
            if (answered < needed)
            {
                if (!stopping.IsCancellationRequested) LogNotAdvanced(logger, answered, peers.Length, needed, WaitMax.TotalSeconds);
                return;
            }
            await listening.WaitAsync(stopping).ConfigureAwait(false);
            await host.AdvanceElectionTimerAsync(electionTicks - 1, stopping).ConfigureAwait(false);
            LogAdvanced(logger, electionTicks - 1, answered, peers.Length, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e) when (e is OperationCanceledException or NodeStoppedException or ChannelClosedException or InvalidOperationException)
        {
            // stopping, or the host stopped first: nothing to advance
        }
    }

    /// <summary>
    /// Probes every peer until it answers, each on its own, and returns as soon as <paramref name="needed"/> have (or
    /// after <see cref="WaitMax"/>): how many answered.
    /// </summary>
    private static async Task<int> AnsweringAsync(GrpcTransport transport, ulong[] peers, int needed, CancellationToken stopping)
    {
        var answered = 0;
        var quorum = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        done.CancelAfter(WaitMax);
        async Task ProbeAsync(ulong id)
        {
            while (!done.IsCancellationRequested)
            {
                using (var call = CancellationTokenSource.CreateLinkedTokenSource(done.Token))
                {
                    call.CancelAfter(PingTimeout);
                    try
                    {
                        await transport.PingAsync(id, call.Token).ConfigureAwait(false);
                        if (Interlocked.Increment(ref answered) >= needed) quorum.TrySetResult();
                        return;
                    }
                    catch (Exception e) when (e is RpcException or OperationCanceledException or HttpRequestException or IOException or ArgumentException or InvalidOperationException)
                    {
                        // not listening yet, or refusing: ask again
                    }
                }
                try
                {
                    await Task.Delay(RetryEvery, done.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        var probes = Task.WhenAll(peers.Select(ProbeAsync));
        await Task.WhenAny(quorum.Task, probes).ConfigureAwait(false);
        var result = Volatile.Read(ref answered);
        await done.CancelAsync().ConfigureAwait(false);
        await probes.ConfigureAwait(false); // each ends at the cancellation
        return result;
    }

    [LoggerMessage(EventId = 70, Level = LogLevel.Information,
        Message = "election timer advanced to {Ticks} ticks: {Answered} of {Peers} peers answered, and this member listens, {ElapsedMs:F0} ms after the host started")]
    private static partial void LogAdvanced(ILogger logger, int ticks, int answered, int peers, double elapsedMs);

    [LoggerMessage(EventId = 71, Level = LogLevel.Information,
        Message = "election timer not advanced: {Answered} of {Peers} peers answered within {WaitS} s ({Needed} needed); waiting a whole election timeout")]
    private static partial void LogNotAdvanced(ILogger logger, int answered, int peers, int needed, double waitS);
}
