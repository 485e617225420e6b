using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;

namespace RaftKv.Tests.Infrastructure;

/// <summary>One operation of a history on a single register: a write of a value, or a read that returned one.</summary>
/// <param name="Client">Who ran it (operations of one client never overlap).</param>
/// <param name="IsWrite">A write (else a read).</param>
/// <param name="Value">The value written or read (null: the register was empty).</param>
/// <param name="Invoked">When the call began, in <see cref="Stopwatch"/> ticks.</param>
/// <param name="Completed">When its answer came; null for a write whose outcome is unknown (it failed or timed out:
/// it may have taken effect at any time after it began, or never).</param>
public sealed record RegisterOp(int Client, bool IsWrite, string? Value, long Invoked, long? Completed);

/// <summary>
/// Whether a history of a single register is linearizable (Herlihy and Wing): some order of the operations, each
/// placed between its invocation and its completion, in which every read returns the latest write before it. The
/// search is Wing and Gong's, with Lowe's memoization of (operations placed, register value); a write of unknown outcome
/// never completes, so it may be placed anywhere after its invocation, last of all meaning it never took effect (one
/// whose value was never read is left out: it can always go last).
/// </summary>
/// <remarks>
/// The search is exponential in the worst case (a history that is not linearizable, with many concurrent or
/// unknown writes, makes it try every order), so it is bounded: beyond <see cref="MaxStates"/> distinct states it gives
/// up and says so, which a test must treat as a failure (nothing was proven). States are remembered as a 128-bit
/// Zobrist hash of the set placed and the value, so memory stays about 50 bytes per state.
/// </remarks>
public static class RegisterLinearizability
{
    /// <summary>Most operations a history may have.</summary>
    public const int MaxOperations = 4000;

    /// <summary>Most distinct (placed set, value) states the search visits before it gives up.</summary>
    public const int MaxStates = 1_000_000;

    /// <summary>Null when linearizable; otherwise the longest prefix the search could place and the operations it could not.</summary>
    public static string? Check(IReadOnlyList<RegisterOp> history, string? initial = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count > MaxOperations) throw new ArgumentException($"{history.Count} operations, more than {MaxOperations}", nameof(history));
        // A write of unknown outcome whose value nobody read can always be placed last of all (it never took effect,
        // or took effect after everything else): leaving it out changes no verdict and removes most of the branching.
        var read = history.Where(o => !o.IsWrite && o.Value is not null).Select(o => o.Value!).ToHashSet(StringComparer.Ordinal);
        var ops = history.Where(o => o.Completed is not null || (o.Value is not null && read.Contains(o.Value))).OrderBy(o => o.Invoked).ToArray();
        var completes = ops.Select(o => o.Completed ?? long.MaxValue).ToArray();
        var placed = new bool[ops.Length];
        var random = new Random(20261202);
        var zobrist = ops.Select(_ => ((ulong)random.NextInt64(), (ulong)random.NextInt64())).ToArray();
        (ulong A, ulong B) hash = (0, 0);
        var seen = new HashSet<(ulong, ulong)>();
        var gaveUp = false;
        var order = new List<int>(ops.Length);
        var best = new List<int>();
        var remaining = ops.Length;

        bool Search(string? value)
        {
            if (remaining == 0) return true;
            if (!seen.Add(Key(hash, value))) return false;
            if (seen.Count > MaxStates)
            {
                gaveUp = true;
                return false;
            }
            // Only an operation that began before every unplaced one completed can come next.
            var horizon = long.MaxValue;
            for (var i = 0; i < ops.Length; i++)
            {
                if (!placed[i] && completes[i] < horizon) horizon = completes[i];
            }
            for (var i = 0; i < ops.Length && ops[i].Invoked <= horizon; i++)
            {
                if (placed[i]) continue;
                var op = ops[i];
                if (!op.IsWrite && op.Value != value) continue;
                placed[i] = true;
                hash = (hash.A ^ zobrist[i].Item1, hash.B ^ zobrist[i].Item2);
                remaining--;
                order.Add(i);
                if (order.Count > best.Count) best = [.. order];
                if (Search(op.IsWrite ? op.Value : value)) return true;
                if (gaveUp) return false;
                order.RemoveAt(order.Count - 1);
                remaining++;
                hash = (hash.A ^ zobrist[i].Item1, hash.B ^ zobrist[i].Item2);
                placed[i] = false;
            }
            return false;
        }

        var linearizable = false;
        var thread = new Thread(() => linearizable = Search(initial), 256 * 1024 * 1024); // one frame per operation placed
        thread.Start();
        thread.Join();
        if (linearizable) return null;
        if (gaveUp) return $"undecided: the search gave up after {MaxStates} states of {ops.Length} operations (the longest order placed {best.Count})";
        var stuck = Enumerable.Range(0, ops.Length).Where(i => !best.Contains(i)).Take(5).Select(i => Describe(ops[i]));
        return $"not linearizable: at most {best.Count} of {ops.Length} operations can be ordered; after " +
            $"{string.Join(", ", best.TakeLast(5).Select(i => Describe(ops[i])))} none of {string.Join(", ", stuck)} can come next";
    }

    private static string Describe(RegisterOp op) =>
        $"client {op.Client} {(op.IsWrite ? "write" : "read")} {op.Value ?? "(empty)"} [{op.Invoked}, {(op.Completed is { } c ? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown")}]";

    private static (ulong, ulong) Key((ulong A, ulong B) placed, string? value)
    {
        var h = value is null ? 0x9E37_79B9_7F4A_7C15UL : (ulong)(uint)StringComparer.Ordinal.GetHashCode(value) * 0xC2B2_AE3D_27D4_EB4FUL + (ulong)value.Length;
        return (placed.A ^ h, placed.B ^ (h * 0x1656_67B1_9E37_79F9UL + 1));
    }

    /// <summary>
    /// Runs <paramref name="clients"/> clients that read (linearizably) and write unique values to <paramref name="key"/>
    /// through whichever members <paramref name="endpoints"/> lists at each call, until <paramref name="stop"/> or
    /// <paramref name="maxOpsPerClient"/>; failed reads are dropped, failed writes kept as of unknown outcome.
    /// </summary>
    public static async Task<List<RegisterOp>> RunAsync(Func<IReadOnlyList<string>> endpoints, string key, int clients, int maxOpsPerClient, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var history = new List<RegisterOp>();
        var keyBytes = ByteString.CopyFromUtf8(key);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            for (var n = 0; n < maxOpsPerClient && !stop.IsCancellationRequested; n++)
            {
                var urls = endpoints();
                if (urls.Count == 0)
                {
                    await Task.Delay(20, CancellationToken.None);
                    continue;
                }
                using var channel = GrpcChannel.ForAddress(urls[random.Next(urls.Count)]);
                var kv = new KV.KVClient(channel);
                var write = random.Next(2) == 0;
                var value = $"c{client}-{n}";
                var invoked = Stopwatch.GetTimestamp();
                try
                {
                    if (write)
                    {
                        await kv.PutAsync(new PutRequest { Key = keyBytes, Value = ByteString.CopyFromUtf8(value) }, deadline: DateTime.UtcNow.AddSeconds(3));
                        lock (history) history.Add(new RegisterOp(client, true, value, invoked, Stopwatch.GetTimestamp()));
                    }
                    else
                    {
                        var kvs = (await kv.RangeAsync(new RangeRequest { Key = keyBytes }, deadline: DateTime.UtcNow.AddSeconds(3))).Kvs;
                        lock (history) history.Add(new RegisterOp(client, false, kvs.Count == 0 ? null : kvs[0].Value.ToStringUtf8(), invoked, Stopwatch.GetTimestamp()));
                    }
                }
                catch (RpcException)
                {
                    if (write) lock (history) history.Add(new RegisterOp(client, true, value, invoked, null));
                }
                await Task.Delay(random.Next(5, 25), CancellationToken.None);
            }
        }))).ConfigureAwait(false);
        return history;
    }
}
