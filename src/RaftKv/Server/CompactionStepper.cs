using Grpc.Core;
using Microsoft.Extensions.Logging;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Raft;

namespace RaftKv.Server;

/// <summary>
/// The leader's part in a large compaction: while the store reports versions a committed compaction still has to
/// delete (<see cref="KvStore.CompactionPending"/>, only on the disk engine), it proposes
/// <see cref="KvCommand.CompactionStep"/> entries, one at a time, each carrying the deletion on by a bounded step. The
/// steps are log entries, so every member deletes the same versions at the same index and the logical size the quota
/// is checked against stays equal everywhere; no entry's batch grows with the history, so neither apply nor a client
/// waits behind a compaction (etcd deletes in batches in the background too, with a pause between them).
/// </summary>
public sealed partial class CompactionStepper(NodeContext node, ILogger<CompactionStepper> logger) : Leases.LeaderCheckLoop(CheckInterval)
{
    /// <summary>How often the leader looks for a pending compaction; also the pause between two steps.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(10);

    private int inFlight;

    protected override void Check(CancellationToken stoppingToken)
    {
        if (node.Status is not { Role: RaftRole.Leader } || !node.Machine.Store.CompactionPending) return;
        if (Interlocked.CompareExchange(ref inFlight, 1, 0) != 0) return; // one step at a time
        _ = StepAsync(stoppingToken);
    }

    private async Task StepAsync(CancellationToken stoppingToken)
    {
        try
        {
            var command = new KvCommand { CompactionStep = new CompactionStep() };
            await node.Proposer.ProposeAsync(command, CompactionResponse.Parser, stoppingToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            LogStepFailed(logger, e.Status.Detail); // tried again at the next check while this member leads
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        finally
        {
            Volatile.Write(ref inFlight, 0);
        }
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "a compaction step failed ({Reason}); it is tried again")]
    private static partial void LogStepFailed(ILogger logger, string reason);
}
