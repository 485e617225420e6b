using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;

namespace RaftKv.Cli.Bench;

/// <summary>
/// txn: one successful compare-and-swap increment of a counter <c>cas/i</c> (i random in 0..N-1). Reads the
/// counter, then Txn(mod_revision == read → put value+1); a failed compare means another client won, so it
/// counts a conflict and retries. The Txn's failure branch reads the counter again, so a retry costs one RPC,
/// not two (what etcd's STM does too). The latency covers the read and all retries.
/// </summary>
public sealed class TxnCasOperation(int casKeys, BenchStats stats) : IBenchOperation
{
    /// <summary>The counter keys the workload uses.</summary>
    public static ByteString CounterKey(int index) => ByteString.CopyFromUtf8($"cas/{index.ToString(CultureInfo.InvariantCulture)}");

    /// <inheritdoc />
    public async Task ExecuteAsync(BenchClient client, long sequence, CallOptions options)
    {
        var key = CounterKey(client.Random.Next(casKeys));
        var read = await client.Kv.RangeAsync(new RangeRequest { Key = key }, options).ConfigureAwait(false);
        var (value, modRevision) = Parse(read);
        while (true)
        {
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = modRevision });
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = Encode(value + 1) } });
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
            var response = await client.Kv.TxnAsync(txn, options).ConfigureAwait(false);
            if (response.Succeeded) return;
            stats.CasConflict();
            (value, modRevision) = Parse(response.Responses[0].ResponseRange);
        }
    }

    /// <summary>Sum of all counters (a missing counter is 0), read linearizably.</summary>
    public static async Task<long> SumAsync(KV.KVClient kv, int casKeys, CallOptions options)
    {
        long sum = 0;
        for (var i = 0; i < casKeys; i++)
        {
            sum += Parse(await kv.RangeAsync(new RangeRequest { Key = CounterKey(i) }, options).ConfigureAwait(false)).Value;
        }
        return sum;
    }

    /// <summary>Counter value and mod revision (0, 0 for a missing key: etcd compares a missing key's mod_revision as 0).</summary>
    private static (long Value, long ModRevision) Parse(RangeResponse response)
    {
        if (response.Kvs.Count == 0) return (0, 0);
        var kv = response.Kvs[0];
        var text = kv.Value.ToStringUtf8();
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? (value, kv.ModRevision)
            : throw new RpcException(new Status(StatusCode.DataLoss, $"counter {kv.Key.ToStringUtf8()} holds '{text}', not a number"));
    }

    private static ByteString Encode(long value) => ByteString.CopyFrom(Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture)));
}
