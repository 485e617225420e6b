using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RaftKv.Etcd.Api;
using RaftKv.Kv;

namespace RaftKv.Server.Leases;

/// <summary>
/// The leader's expiry loop (etcd's <c>revokeExpiredLeases</c>): every <see cref="CheckInterval"/>, while this member
/// leads, the leases past their deadline are revoked through the log, at most <see cref="RevokesPerCheck"/> per check
/// (etcd's default of 1000 revokes per second) and at most <see cref="InFlightMax"/> proposals waiting at once. The
/// revoke is an ordinary log entry, so it happens only if a quorum commits it: a leader cut off from the others
/// revokes nothing, and followers never expire anything by themselves.
/// </summary>
public sealed partial class LeaseExpiry(NodeContext node, ILogger<LeaseExpiry> logger) : LeaderCheckLoop(CheckInterval)
{
    /// <summary>How often the leader looks for expired leases (etcd: every 500 ms).</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Revokes proposed per check: 500 every 500 ms is etcd's 1000/s.</summary>
    public const int RevokesPerCheck = 500;

    /// <summary>Revoke proposals waiting for commit at most; expired leases beyond wait for the next check.</summary>
    public const int InFlightMax = 2000;

    private int inFlight;

    protected override void Check(CancellationToken stoppingToken)
    {
        var clock = node.LeaseClock;
        if (!clock.IsLeading()) return;
        var room = Math.Min(RevokesPerCheck, InFlightMax - Volatile.Read(ref inFlight));
        if (room <= 0) return;
        foreach (var id in clock.TakeExpired(room))
        {
            if (node.Machine.Store.FindLease(id) is null)
            {
                clock.Forget(id); // revoked meanwhile (by a client, or by the previous check's proposal)
                continue;
            }
            Interlocked.Increment(ref inFlight);
            _ = RevokeAsync(id, stoppingToken);
        }
    }

    private async Task RevokeAsync(long id, CancellationToken stoppingToken)
    {
        try
        {
            var command = new KvCommand { LeaseRevoke = new LeaseRevokeRequest { ID = id } };
            await node.Proposer.ProposeAsync(command, LeaseRevokeResponse.Parser, stoppingToken).ConfigureAwait(false);
            node.LeaseClock.CountExpired();
            node.LeaseClock.Forget(id);
            LogExpired(logger, id);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            node.LeaseClock.Forget(id);
        }
        catch (RpcException e)
        {
            LogRevokeFailed(logger, id, e.Status.Detail); // tried again after LeaseClock.RevokeRetryAfter if still leading
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

    [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "lease {LeaseId:x16} expired and was revoked")]
    private static partial void LogExpired(ILogger logger, long leaseId);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "revoking expired lease {LeaseId:x16} failed ({Reason}); it is tried again")]
    private static partial void LogRevokeFailed(ILogger logger, long leaseId, string reason);
}
