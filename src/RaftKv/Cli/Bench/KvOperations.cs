using Grpc.Core;
using RaftKv.Etcd.Api;

namespace RaftKv.Cli.Bench;

/// <summary>put: one Put of the shared value to the next key.</summary>
public sealed class PutOperation(KeyGenerator keys) : IBenchOperation
{
    /// <inheritdoc />
    public async Task ExecuteAsync(BenchClient client, long sequence, CallOptions options)
    {
        var request = new PutRequest { Key = keys.Key(keys.NextIndex(client, sequence)), Value = keys.Value };
        await client.Kv.PutAsync(request, options).ConfigureAwait(false);
    }
}

/// <summary>range: a single-key Range, linearizable (ReadIndex on the server) or serializable (local read).</summary>
public sealed class RangeOperation(KeyGenerator keys, bool serializable) : IBenchOperation
{
    /// <inheritdoc />
    public async Task ExecuteAsync(BenchClient client, long sequence, CallOptions options)
    {
        var request = new RangeRequest { Key = keys.Key(keys.NextIndex(client, sequence)), Serializable = serializable };
        await client.Kv.RangeAsync(request, options).ConfigureAwait(false);
    }
}

/// <summary>mixed: a range with probability --read-ratio, otherwise a put.</summary>
public sealed class MixedOperation(PutOperation put, RangeOperation range, double readRatio) : IBenchOperation
{
    /// <inheritdoc />
    public Task ExecuteAsync(BenchClient client, long sequence, CallOptions options) =>
        client.Random.NextDouble() < readRatio ? range.ExecuteAsync(client, sequence, options) : put.ExecuteAsync(client, sequence, options);
}

/// <summary>status: Maintenance.Status, answered locally by etcd and raftkv (a near no-op on the client API).</summary>
public sealed class StatusOperation : IBenchOperation
{
    private static readonly StatusRequest Request = new();

    /// <inheritdoc />
    public async Task ExecuteAsync(BenchClient client, long sequence, CallOptions options) =>
        await client.Maintenance.StatusAsync(Request, options).ConfigureAwait(false);
}

/// <summary>peer-ping: raftkv's no-op peer RPC; cluster_id 0 skips the identity check.</summary>
public sealed class PeerPingOperation : IBenchOperation
{
    private static readonly RaftKv.Raft.Transport.Protocol.PingRequest Request = new();

    /// <inheritdoc />
    public async Task ExecuteAsync(BenchClient client, long sequence, CallOptions options) =>
        await client.Peer.PingAsync(Request, options).ConfigureAwait(false);
}
