using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Robustness.History;

namespace RaftKv.Tests.Infrastructure;

/// <summary>Which operations <see cref="KvTraffic"/> clients run.</summary>
public enum TrafficMix
{
    /// <summary>Linearizable gets and puts of unique values: a register per key.</summary>
    GetPut,
    /// <summary>
    /// etcd's robustness mix on a few keys: gets (some serializable: a stale get), puts, deletes, compare-and-puts on the last mod revision seen, puts
    /// with a lease of their own (granted first, for an hour; the grant is not in the history) and revokes of the
    /// lease of a put this client had acknowledged.
    /// </summary>
    Etcd,
}

/// <summary>
/// Clients that run a mix of operations on a few keys through whichever members are running, recording each call and
/// answer (with the revisions of the response headers) as a <see cref="KvOperation"/> history for
/// <see cref="Robustness.Checking.KvHistoryChecker"/>. Failed reads are dropped; failed writes are kept with an
/// unknown outcome. Times are <see cref="Stopwatch.GetTimestamp"/> ticks, so a test can place its faults on the same
/// clock. Bounded by <c>maxOpsPerClient</c> and <c>stop</c>; each call by a 3 s deadline. <c>open</c> makes the
/// channel to an endpoint (default: <see cref="GrpcChannel.ForAddress(string)"/>; a host network's clients differ);
/// with <c>listPrefix</c> (a prefix of every key) the etcd mix also lists the keys, as Kubernetes' informers do.
/// </summary>
public static class KvTraffic
{
    public static async Task<List<KvOperation>> RunAsync(Func<IReadOnlyList<string>> endpoints, IReadOnlyList<string> keys, int clients, int maxOpsPerClient,
        TrafficMix mix, CancellationToken stop, Func<string, GrpcChannel>? open = null, string? listPrefix = null)
    {
        open ??= GrpcChannel.ForAddress;
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(keys);
        var history = new List<KvOperation>();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            var lastModRevision = new Dictionary<string, long>();
            var leases = new Dictionary<string, long>(); // per key: the lease of this client's last acknowledged put with one
            for (var n = 0; n < maxOpsPerClient && !stop.IsCancellationRequested; n++)
            {
                var urls = endpoints();
                if (urls.Count == 0)
                {
                    await Task.Delay(20, CancellationToken.None);
                    continue;
                }
                using var channel = open(urls[random.Next(urls.Count)]);
                var key = keys[random.Next(keys.Count)];
                var input = Next(random, mix, key, $"c{client}-{n}", lastModRevision.GetValueOrDefault(key), leases.GetValueOrDefault(key), listPrefix);
                if (input.Kind == KvOperationKind.LeaseRevoke) leases.Remove(key); // revoked, or its fate unknown: never again
                if (input is { Kind: KvOperationKind.Put, LeaseId: -1 })
                {
                    // A lease of its own for this put; if the grant fails the put is not made.
                    if (await GrantAsync(channel).ConfigureAwait(false) is not { } lease) continue;
                    input = input with { LeaseId = lease };
                }
                var call = Stopwatch.GetTimestamp();
                KvOutput? output;
                try
                {
                    output = await RunAsync(channel, input).ConfigureAwait(false);
                    if (input.Kind == KvOperationKind.Get) lastModRevision[key] = output.Value.ModRevision;
                    if (input is { Kind: KvOperationKind.Put, LeaseId: not 0 }) leases[key] = input.LeaseId;
                }
                catch (RpcException)
                {
                    output = null;
                }
                var ret = Stopwatch.GetTimestamp();
                if (output is not null || input.IsWrite)
                {
                    lock (history) history.Add(new KvOperation(history.Count, client, call, ret, input, output));
                }
                await Task.Delay(random.Next(2, 15), CancellationToken.None);
            }
        }))).ConfigureAwait(false);
        lock (history) return [.. history.Select((o, i) => o with { Id = i })];
    }

    // A put with LeaseId -1 asks for a lease of its own; a revoke without a lease of this client's becomes a put.
    private static KvInput Next(Random random, TrafficMix mix, string key, string value, long lastModRevision, long lease, string? listPrefix)
    {
        var roll = random.Next(100);
        if (mix == TrafficMix.GetPut) return roll < 50 ? new KvInput(KvOperationKind.Get, key) : new KvInput(KvOperationKind.Put, key, value);
        return roll switch
        {
            < 38 => new KvInput(KvOperationKind.Get, key),
            < 42 => new KvInput(KvOperationKind.SerializableGet, key),
            < 45 => listPrefix is null ? new KvInput(KvOperationKind.Get, key) : new KvInput(KvOperationKind.List, listPrefix),
            < 68 => new KvInput(KvOperationKind.Put, key, value),
            < 77 => new KvInput(KvOperationKind.Delete, key),
            < 87 => new KvInput(KvOperationKind.CompareAndPut, key, value, lastModRevision),
            < 94 => new KvInput(KvOperationKind.Put, key, value, LeaseId: -1),
            _ => lease != 0 ? new KvInput(KvOperationKind.LeaseRevoke, key, LeaseId: lease) : new KvInput(KvOperationKind.Put, key, value),
        };
    }

    private static async Task<long?> GrantAsync(GrpcChannel channel)
    {
        try
        {
            var grant = await new Lease.LeaseClient(channel).LeaseGrantAsync(new LeaseGrantRequest { TTL = 3600 }, deadline: DateTime.UtcNow.AddSeconds(3)).ConfigureAwait(false);
            return grant.Error is { Length: > 0 } ? null : grant.ID;
        }
        catch (RpcException)
        {
            return null;
        }
    }

    private static async Task<KvOutput> RunAsync(GrpcChannel channel, KvInput input)
    {
        var kv = new KV.KVClient(channel);
        var lease = new Lease.LeaseClient(channel);
        var key = ByteString.CopyFromUtf8(input.Key);
        var deadline = DateTime.UtcNow.AddSeconds(3);
        switch (input.Kind)
        {
            case KvOperationKind.Get or KvOperationKind.SerializableGet:
                var range = await kv.RangeAsync(new RangeRequest { Key = key, Serializable = input.Kind == KvOperationKind.SerializableGet }, deadline: deadline);
                return range.Kvs.Count == 0
                    ? new KvOutput(range.Header.Revision)
                    : new KvOutput(range.Header.Revision, range.Kvs[0].Value.ToStringUtf8(), range.Kvs[0].ModRevision);
            case KvOperationKind.Put:
                var put = await kv.PutAsync(new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(input.Value), Lease = input.LeaseId }, deadline: deadline);
                return new KvOutput(put.Header.Revision);
            case KvOperationKind.List:
                var list = await kv.RangeAsync(new RangeRequest { Key = key, RangeEnd = RaftKv.Kv.KeyRanges.PrefixEnd(key.Span) }, deadline: deadline);
                return new KvOutput(list.Header.Revision, string.Join(";", list.Kvs.Select(x => $"{x.Key.ToStringUtf8()}={x.Value.ToStringUtf8()}@{x.ModRevision}")));
            case KvOperationKind.LeaseRevoke:
                var revoked = await lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = input.LeaseId }, deadline: deadline);
                return new KvOutput(revoked.Header.Revision);
            case KvOperationKind.Delete:
                var deleted = await kv.DeleteRangeAsync(new DeleteRangeRequest { Key = key }, deadline: deadline);
                return new KvOutput(deleted.Header.Revision, Succeeded: deleted.Deleted > 0);
            default:
                var txn = await kv.TxnAsync(new TxnRequest
                {
                    Compare = { new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = input.ExpectedModRevision } },
                    Success = { new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(input.Value) } } },
                }, deadline: deadline);
                return new KvOutput(txn.Header.Revision, Succeeded: txn.Succeeded);
        }
    }
}
