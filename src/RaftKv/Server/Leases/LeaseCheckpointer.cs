using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Kv.Leases;

namespace RaftKv.Server.Leases;

/// <summary>
/// The leader's checkpoint loop (etcd's <c>checkpointScheduledLeases</c>): every <see cref="CheckInterval"/>, while
/// this member leads, the remaining TTLs of leases due for a checkpoint (<see cref="LeaseClock.TakeDueCheckpoints"/>)
/// go through the log in LeaseCheckpoint commands of at most <see cref="LeaseLimits.MaxCheckpointsPerCommand"/>
/// (etcd's batch of 1000), at most <see cref="ProposalsPerCheck"/> commands per check and
/// <see cref="InFlightMax"/> waiting at once. Every member records them in its lease table, so a new leader starts
/// each lease's countdown from its checkpointed remaining TTL instead of the full TTL.
/// </summary>
/// <remarks>
/// On by default, where etcd's <c>--experimental-enable-lease-checkpoint</c> is off: etcd keeps it off for clusters
/// with members of older versions, which would apply the command differently (and, before 3.6, kept the remaining
/// TTL in memory only); RaftKv has no such members, and without checkpoints a lease whose leader changes more often
/// than its TTL never expires, which the lease issue rules out. The cost is one log entry per 1000 leases per
/// interval (5 min by default, etcd's), plus one per keep-alive of a checkpointed lease (<see cref="LeaseGateway"/>).
/// The remaining TTL is always kept in the store and its snapshots (etcd 3.6's
/// <c>--experimental-enable-lease-checkpoint-persist</c>, which is accepted and changes nothing).
/// </remarks>
public sealed partial class LeaseCheckpointer(NodeContext node, ILogger<LeaseCheckpointer> logger) : LeaderCheckLoop(CheckInterval)
{
    /// <summary>etcd's default <c>--experimental-lease-checkpoint-interval</c>.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(5);

    /// <summary>How often the leader looks for due checkpoints (etcd: every 500 ms, with expiry).</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Commands proposed per check: 4000 checkpoints every 500 ms at most, a million leases in about 2 min.</summary>
    public const int ProposalsPerCheck = 4;

    /// <summary>Checkpoint commands waiting for commit at most; due leases beyond wait for the next check.</summary>
    public const int InFlightMax = 8;

    private int inFlight;

    // Off: no clock schedules any (LeaseClock was given no interval).
    protected override bool Enabled => node.Settings.LeaseCheckpointInterval is not null;

    protected override void Check(CancellationToken stoppingToken)
    {
        var clock = node.LeaseClock;
        if (!clock.IsLeading()) return;
        for (var i = 0; i < ProposalsPerCheck && Volatile.Read(ref inFlight) < InFlightMax; i++)
        {
            var due = clock.TakeDueCheckpoints(LeaseLimits.MaxCheckpointsPerCommand);
            if (due.Count == 0) return;
            Interlocked.Increment(ref inFlight);
            _ = ProposeAsync(due, stoppingToken);
            if (due.Count < LeaseLimits.MaxCheckpointsPerCommand) return;
        }
    }

    // A failed proposal is not retried: each lease is due again one interval later, and a keep-alive clears what may
    // still commit (LeaseClock keeps the lease marked as proposed).
    private async Task ProposeAsync(IReadOnlyList<LeaseCheckpoint> due, CancellationToken stoppingToken)
    {
        try
        {
            var command = new KvCommand { LeaseCheckpoint = new LeaseCheckpointRequest { Checkpoints = { due } } };
            await node.Proposer.ProposeAsync(command, LeaseCheckpointResponse.Parser, stoppingToken).ConfigureAwait(false);
            node.LeaseClock.CountCheckpointed(due.Count);
            LogCheckpointed(logger, due.Count);
        }
        catch (RpcException e)
        {
            LogCheckpointFailed(logger, due.Count, e.Status.Detail);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    [LoggerMessage(EventId = 42, Level = LogLevel.Debug, Message = "checkpointed the remaining TTL of {Count} leases")]
    private static partial void LogCheckpointed(ILogger logger, int count);

    [LoggerMessage(EventId = 43, Level = LogLevel.Information, Message = "checkpointing {Count} leases failed ({Reason}); they are due again after the interval")]
    private static partial void LogCheckpointFailed(ILogger logger, int count, string reason);
}
