using Grpc.Core;
using Microsoft.Extensions.Hosting;

namespace RaftKv.Server.Cluster;

/// <summary>
/// With <c>--auto-promote-learners</c> (raftkv's own; etcd users have asked for it since 2019), the leader promotes
/// each learner as soon as it is in sync by etcd's rule (<see cref="MembershipChanges.LearnerReadyShare"/>), through
/// the same MemberPromote path an operator would use. A leader's policy, not the state machine's: the promotion is
/// an ordinary configuration change in the log, so every member applies the same result.
/// </summary>
public sealed class LearnerPromoter(NodeContext node) : BackgroundService
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromMilliseconds(250);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!node.Settings.AutoPromoteLearners) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(CheckEvery, stoppingToken).ConfigureAwait(false);
                if (node.Status is not { Role: Raft.RaftRole.Leader }) continue;
                foreach (var learner in node.Members.Learners.Where(l => node.MembershipChanges.IsLearnerReady(l.Id)).ToArray())
                {
                    await node.MembershipChanges.PromoteAsync(learner.Id, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (RpcException)
            {
                // lost leadership or a change in flight: look again
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
