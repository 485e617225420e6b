using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Kv;

namespace RaftKv.Server.Etcd;

/// <summary>etcd's KV service: writes go through Raft (forwarded by followers), reads are served locally after a read barrier unless serializable.</summary>
public sealed class KvService(NodeContext node) : KV.KVBase
{
    public override async Task<RangeResponse> Range(RangeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (!request.Serializable) await node.Proposer.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
        try
        {
            var response = node.Machine.Store.Range(request);
            node.Header(response.Header ??= new ResponseHeader());
            return response;
        }
        catch (KvException e)
        {
            throw EtcdErrors.From(e.Error);
        }
    }

    public override async Task<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = (PutResponse)await node.Proposer.ProposeAsync(new KvCommand { Put = request }, PutResponse.Parser, context.CancellationToken).ConfigureAwait(false);
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }

    public override async Task<DeleteRangeResponse> DeleteRange(DeleteRangeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = (DeleteRangeResponse)await node.Proposer.ProposeAsync(new KvCommand { DeleteRange = request }, DeleteRangeResponse.Parser, context.CancellationToken).ConfigureAwait(false);
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }

    public override async Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        TxnResponse response;
        if (KvRequestValidator.IsReadOnly(request))
        {
            // Like etcd: a txn that only reads is served after a read barrier instead of through the log.
            await node.Proposer.ReadBarrierAsync(context.CancellationToken).ConfigureAwait(false);
            try
            {
                response = node.Machine.Store.ReadOnlyTxn(request);
            }
            catch (KvException e)
            {
                throw EtcdErrors.From(e.Error);
            }
        }
        else
        {
            response = (TxnResponse)await node.Proposer.ProposeAsync(new KvCommand { Txn = request }, TxnResponse.Parser, context.CancellationToken).ConfigureAwait(false);
        }
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }

    public override async Task<CompactionResponse> Compact(CompactionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = (CompactionResponse)await node.Proposer.ProposeAsync(new KvCommand { Compaction = request }, CompactionResponse.Parser, context.CancellationToken).ConfigureAwait(false);
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }
}
