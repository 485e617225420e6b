using Grpc.Core;
using Google.Protobuf;

namespace RaftKv.Server.Forwarding;

/// <summary>
/// The leader's side of write forwarding, on the peer port: answers a lease question at once
/// (<see cref="Leases.LeaseGateway.TryAnswerForwarded"/>) and proposes anything else (<see cref="Etcd.KvProposer.HandleForwardedAsync"/>).
/// </summary>
public sealed class WriteForwardingService(NodeContext node) : WriteForwarding.WriteForwardingBase
{
    /// <inheritdoc />
    public override async Task<ForwardReply> Forward(ForwardRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.ClusterId != node.ClusterId)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"cluster id mismatch: this member belongs to cluster {node.ClusterId:x16}, the sender to {request.ClusterId:x16}"));
        if (request.To != node.Settings.Self.Id)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"member id mismatch: this is member {node.Settings.Self.Id:x16}, the sender addressed {request.To:x16}"));
        var command = request.Payload.Memory;
        if (Leases.LeaseGateway.TryAnswerForwarded(node.Leases, command, context.CancellationToken) is { } answer)
            return new ForwardReply { Payload = UnsafeByteOperations.UnsafeWrap(await answer.ConfigureAwait(false)) };
        var result = await node.Proposer.HandleForwardedAsync(command, context.CancellationToken).ConfigureAwait(false);
        // Read after the proposal completed, so at or past its entry (read before a failure too: harmless, it is applied).
        return new ForwardReply { Payload = UnsafeByteOperations.UnsafeWrap(result), AppliedIndex = node.Machine.Store.AppliedIndex };
    }
}
