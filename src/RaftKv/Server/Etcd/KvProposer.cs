using Grpc.Core;
using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Raft.Hosting;

namespace RaftKv.Server.Etcd;

/// <summary>
/// Puts a client write through Raft from any member: proposed locally on the leader, forwarded to the leader over
/// the peer connection on a follower. Concurrent writes share Raft entries' batches and fsyncs in the host loop.
/// </summary>
public sealed class KvProposer(NodeContext node, EtcdStateMachine machine)
{
    /// <summary>How long a write may wait for commit before the client gets "request timed out" (etcd: 5 s + election).</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(7);

    private readonly KvRequestValidator _validator = new(machine.Store.Options);

    /// <summary>
    /// Validates, checks the quota, proposes and waits for the applied outcome; throws etcd's RpcException on failure.
    /// A write over this member's quota is not proposed: NOSPACE is raised through the log instead (as etcd does), so
    /// apply never reads the quota and members with different quotas cannot disagree.
    /// </summary>
    public async Task<IMessage> ProposeAsync(KvCommand command, MessageParser responseParser, CancellationToken cancellationToken)
    {
        if (_validator.Validate(command) is { } invalid) throw EtcdErrors.From(invalid);
        // The limit is on the request as the client sent it (etcd's), before the identity is added.
        if (command.CalculateSize() > node.Settings.MaxRequestBytes) throw EtcdErrors.TooLarge();
        // A client call's commands carry its identity into the log; checked here first, against this member's state.
        command.Auth ??= Auth.AuthContext.Current?.Clone();
        if (Kv.Auth.AuthChecker.Check(machine.Store.Auth, command.Auth, command) is { } denied) throw EtcdErrors.From(denied);
        var bytes = command.ToByteArray();
        if (bytes.Length > ServerLimits.Storage.MaxEntryDataBytes) throw EtcdErrors.TooLarge(); // a very long user name on a request at the limit
        // Every grant (the Lease API's, and the sessions of Lock and Election) passes here; the count is this
        // member's applied one, so the bound is soft by the grants in flight (see ClientLimits.MaxLeases).
        if (command.LeaseGrant is not null && machine.Store.LeaseCount >= node.Settings.Limits.MaxLeases)
            throw new RpcException(new Status(StatusCode.ResourceExhausted, Limits.ClientLimits.TooManyLeases));
        if (machine.Store.CheckQuota(command) is { } noSpace)
        {
            await RaiseNoSpaceAsync(cancellationToken).ConfigureAwait(false);
            throw EtcdErrors.From(noSpace);
        }
        return await ProposeCheckedAsync(bytes, responseParser, cancellationToken).ConfigureAwait(false);
    }

    // etcd's quota check raises NOSPACE as this member and answers "database space exceeded" either way; the alarm's
    // own outcome (committed, lost to a leader change, timed out) does not change the answer.
    private async Task RaiseNoSpaceAsync(CancellationToken cancellationToken)
    {
        var self = node.Settings.Self.Id;
        if (machine.Store.Alarms.Any(a => a.MemberID == self && a.Alarm == AlarmType.Nospace)) return;
        var alarm = new KvCommand { Alarm = new AlarmRequest { Action = AlarmRequest.Types.AlarmAction.Activate, Alarm = AlarmType.Nospace, MemberID = self } };
        try
        {
            await ProposeCheckedAsync(alarm.ToByteArray(), AlarmResponse.Parser, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // Best effort: the next write over the quota tries again.
        }
    }

    private async Task<IMessage> ProposeCheckedAsync(byte[] bytes, MessageParser responseParser, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        WriteOutcome outcome;
        try
        {
            outcome = await ProposeOrForwardAsync(bytes, responseParser, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw EtcdErrors.Timeout();
        }
        if (outcome.Failed) throw new RpcException(new Status((StatusCode)outcome.ErrorCode, outcome.ErrorMessage));
        return outcome.Response!;
    }

    private async Task<WriteOutcome> ProposeOrForwardAsync(byte[] command, MessageParser responseParser, CancellationToken cancellationToken)
    {
        try
        {
            return Outcome(await node.Host.ProposeAsync(command, cancellationToken).ConfigureAwait(false));
        }
        catch (NotLeaderException e) when (e.LeaderId != Raft.RaftNode.None)
        {
            (ReadOnlyMemory<byte> Payload, ulong AppliedIndex) reply;
            try
            {
                reply = await node.Forwarder.ForwardWithIndexAsync(e.LeaderId, command, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException forward) when (forward.StatusCode != StatusCode.Cancelled)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"etcdserver: leader unreachable: {forward.Status.Detail}"));
            }
            var outcome = ForwardedResult.Decode(reply.Payload.Span, responseParser);
            // As etcd's follower: the client is answered once this member applied the write too, so its next read
            // here (serializable, or a watch from the returned revision) sees it. Bounded by the request timeout.
            if (!outcome.Failed) await node.AppliedIndex.WaitAsync(reply.AppliedIndex, cancellationToken).ConfigureAwait(false);
            return outcome;
        }
        catch (RaftHostException e)
        {
            throw EtcdErrors.From(e);
        }
    }

    // No result: the entry committed, but the store had it already from a snapshot installed meanwhile (a deposed
    // leader catching up), so its response is unknown here: the client is told what etcd says of an unknown outcome.
    private static WriteOutcome Outcome(object? applied)
    {
        if (applied is ApplyResult result) return WriteOutcome.From(result);
        var error = EtcdErrors.Timeout();
        return new WriteOutcome(null, (int)error.StatusCode, error.Status.Detail);
    }

    /// <summary>The leader's side of a forwarded write: propose it here and encode the outcome.</summary>
    public async Task<ReadOnlyMemory<byte>> HandleForwardedAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            return ForwardedResult.Encode(Outcome(await node.Host.ProposeAsync(command, timeout.Token).ConfigureAwait(false)));
        }
        catch (RaftHostException e)
        {
            var error = EtcdErrors.From(e);
            return ForwardedResult.Encode(new WriteOutcome(null, (int)error.StatusCode, error.Status.Detail));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var error = EtcdErrors.Timeout();
            return ForwardedResult.Encode(new WriteOutcome(null, (int)error.StatusCode, error.Status.Detail));
        }
    }

    /// <summary>Waits until this member's state reflects every write acknowledged before the call (thesis section 6.4).</summary>
    public async Task ReadBarrierAsync(CancellationToken cancellationToken)
    {
        if (FailPoints.Skips(FailPoint.ReadBarrier)) return; // the planted stale-read bug (tests only)
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            await node.Host.ReadBarrierAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (RaftHostException e)
        {
            throw EtcdErrors.From(e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw EtcdErrors.Timeout();
        }
    }
}
