using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Kv;

namespace RaftKv.Server.Concurrency;

/// <summary>
/// The key-value calls locks and elections make, as the KV service makes them: writes through Raft (forwarded by a
/// follower), reads from this member's store after a read barrier, so every read is linearizable. Responses carry
/// this member's header. Failures carry etcd's errors as etcd's services pass them on
/// (<see cref="ConcurrencyErrors.FromInnerCall"/>).
/// </summary>
public sealed class OwnerStore(NodeContext node)
{
    /// <summary>A transaction through the log (also a read-only one: these always write or guard a write).</summary>
    public async Task<TxnResponse> TxnAsync(TxnRequest txn, CancellationToken cancellationToken)
    {
        var response = (TxnResponse)await ProposeAsync(new KvCommand { Txn = txn }, TxnResponse.Parser, cancellationToken).ConfigureAwait(false);
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }

    /// <summary>Deletes one key through the log.</summary>
    public async Task<DeleteRangeResponse> DeleteAsync(ByteString key, CancellationToken cancellationToken)
    {
        var command = new KvCommand { DeleteRange = new DeleteRangeRequest { Key = key } };
        var response = (DeleteRangeResponse)await ProposeAsync(command, DeleteRangeResponse.Parser, cancellationToken).ConfigureAwait(false);
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }

    /// <summary>A lease grant through the log.</summary>
    public async Task<LeaseGrantResponse> GrantAsync(LeaseGrantRequest grant, CancellationToken cancellationToken) =>
        (LeaseGrantResponse)await ProposeAsync(new KvCommand { LeaseGrant = grant }, LeaseGrantResponse.Parser, cancellationToken).ConfigureAwait(false);

    /// <summary>A linearizable range read.</summary>
    public async Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancellationToken)
    {
        await BarrierAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = node.Machine.Store.Range(request);
            node.Header(response.Header ??= new ResponseHeader());
            return response;
        }
        catch (KvException e)
        {
            throw ConcurrencyErrors.FromInnerCall(Etcd.EtcdErrors.From(e.Error));
        }
    }

    /// <summary>Linearizable reads, all at one revision (a transaction without compares or writes).</summary>
    public async Task<TxnResponse> ReadAsync(TxnRequest reads, CancellationToken cancellationToken)
    {
        await BarrierAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = node.Machine.Store.ReadOnlyTxn(reads);
            node.Header(response.Header ??= new ResponseHeader());
            return response;
        }
        catch (KvException e)
        {
            throw ConcurrencyErrors.FromInnerCall(Etcd.EtcdErrors.From(e.Error));
        }
    }

    private async Task<IMessage> ProposeAsync(KvCommand command, MessageParser parser, CancellationToken cancellationToken)
    {
        try
        {
            return await node.Proposer.ProposeAsync(command, parser, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw ConcurrencyErrors.FromInnerCall(e);
        }
    }

    private async Task BarrierAsync(CancellationToken cancellationToken)
    {
        try
        {
            await node.Proposer.ReadBarrierAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw ConcurrencyErrors.FromInnerCall(e);
        }
    }
}
