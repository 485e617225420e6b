using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace RaftKv.Tests.Infrastructure;

/// <summary>What the differential tests (the same calls to a real etcd and to raftkv) share.</summary>
public static class Differential
{
    /// <summary>A copy of <paramref name="response"/> without what legitimately differs between servers (cluster and member ids, Raft term).</summary>
    public static T WithoutServerIdentity<T>(T response)
        where T : IMessage
    {
        var copy = (T)response.Descriptor.Parser.ParseFrom(response.ToByteArray());
        if (copy.Descriptor.FindFieldByName("header")?.Accessor.GetValue(copy) is ResponseHeader h)
        {
            h.ClusterId = 0;
            h.MemberId = 0;
            h.RaftTerm = 0;
        }
        return copy;
    }

    /// <summary>The response as JSON, without the server's identity; <paramref name="adjust"/> may clear more (running TTLs, map order).</summary>
    public static string Normalize(IMessage response, Action<IMessage>? adjust = null)
    {
        var copy = WithoutServerIdentity(response);
        adjust?.Invoke(copy);
        return JsonFormatter.Default.Format(copy);
    }

    /// <summary>A call's normalized answer or its error, as one comparable line; bounded by <paramref name="timeout"/> (20 s by default).</summary>
    public static async Task<string> Outcome(Func<Task<IMessage>> call, Action<IMessage>? adjust = null, TimeSpan? timeout = null)
    {
        try
        {
            using var bound = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
            return Normalize(await call().WaitAsync(bound.Token), adjust);
        }
        catch (RpcException e)
        {
            return $"error {e.StatusCode}: {e.Status.Detail}";
        }
    }

    /// <summary>Waits (bounded) until the real etcd answers a status call.</summary>
    public static Task WaitForEtcdAsync(EtcdProcess etcd, EtcdClient client) =>
        Poll.UntilAsync(async () =>
        {
            try
            {
                await client.StatusAsync(new StatusRequest());
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), "etcd answering", () => etcd.OutputTail);
}
