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

    /// <summary>
    /// etcd 3.7's RangeStream: the read barrier as for Range, the revision pinned, then one chunk per short read of
    /// the store, each written before the next is read (the HTTP/2 window holds back a slow client), so the server
    /// holds one chunk at a time however large the range. Chunks with no pairs (all filtered out, or only counted)
    /// are not sent; the last chunk carries the header, count and more.
    /// </summary>
    public override async Task RangeStream(RangeRequest request, IServerStreamWriter<RangeStreamResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var cancel = context.CancellationToken;
        if (!request.Serializable) await node.Proposer.ReadBarrierAsync(cancel).ConfigureAwait(false);
        try
        {
            var reader = node.Machine.Store.OpenRangeStream(request);
            // Bounded: every chunk but the last visits at least one key of the finite range and moves past it.
            while (!reader.IsDone)
            {
                cancel.ThrowIfCancellationRequested();
                var chunk = reader.Next(RangeChunkLimits.Default);
                if (chunk.Kvs.Count == 0 && !reader.IsDone) continue;
                if (reader.IsDone) node.Header(chunk.Header);
                await responseStream.WriteAsync(new RangeStreamResponse { RangeResponse = chunk }, cancel).ConfigureAwait(false);
            }
        }
        catch (KvException e)
        {
            throw EtcdErrors.From(e.Error);
        }
    }

    public override Task<PutResponse> Put(PutRequest request, ServerCallContext context) =>
        WriteAsync(new KvCommand { Put = request }, PutResponse.Parser, r => r.Header ??= new ResponseHeader(), context);

    public override Task<DeleteRangeResponse> DeleteRange(DeleteRangeRequest request, ServerCallContext context) =>
        WriteAsync(new KvCommand { DeleteRange = request }, DeleteRangeResponse.Parser, r => r.Header ??= new ResponseHeader(), context);

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
            return await WriteAsync(new KvCommand { Txn = request }, TxnResponse.Parser, r => r.Header ??= new ResponseHeader(), context).ConfigureAwait(false);
        }
        node.Header(response.Header ??= new ResponseHeader());
        return response;
    }

    public override Task<CompactionResponse> Compact(CompactionRequest request, ServerCallContext context) =>
        WriteAsync(new KvCommand { Compaction = request }, CompactionResponse.Parser, r => r.Header ??= new ResponseHeader(), context);

    /// <summary>A write through Raft, its response stamped with this member's header.</summary>
    private async Task<T> WriteAsync<T>(KvCommand command, Google.Protobuf.MessageParser<T> parser, Func<T, ResponseHeader> header, ServerCallContext context)
        where T : Google.Protobuf.IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = (T)await node.Proposer.ProposeAsync(command, parser, context.CancellationToken).ConfigureAwait(false);
        node.Header(header(response));
        return response;
    }
}
