using System.Net.WebSockets;
using System.Text;
using dotnet_etcd;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Gateway;

/// <summary>
/// A watch over a websocket on the gateway's <c>/v3/watch</c> (etcd wraps its gateway in a websocket proxy, for
/// browsers): one text message per request and per reply. The same exchange with etcd 3.4 and with raftkv.
/// </summary>
public sealed class WebSocketWatchTests
{
    private static async Task<List<string>> ExchangeAsync(string clientUrl)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(clientUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/v3/watch"), bound.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"create_request":{"key":"d3M=","prev_kv":true}}"""), WebSocketMessageType.Text, true, bound.Token);
        var record = new List<string> { await ReceiveAsync(socket, bound.Token) };
        using (var http = new GatewayClient(clientUrl))
        {
            await http.PostAsync("/v3/kv/put", """{"key":"d3M=","value":"MQ=="}""");
            await http.PostAsync("/v3/kv/put", """{"key":"d3M=","value":"Mg=="}""");
        }
        record.Add(await ReceiveAsync(socket, bound.Token));
        record.Add(await ReceiveAsync(socket, bound.Token));
        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"cancel_request":{"watch_id":"0"}}"""), WebSocketMessageType.Text, true, bound.Token);
        record.Add(await ReceiveAsync(socket, bound.Token));
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        return record.Select(GatewayClient.Normalize).ToList();
    }

    private static async Task<string> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close) return "(closed)";
            length += result.Count;
            if (result.EndOfMessage) return Encoding.UTF8.GetString(buffer, 0, length).TrimEnd('\n');
        }
    }

    [EtcdServerFact]
    public async Task A_watch_over_a_websocket_sees_the_same_messages_as_on_etcd()
    {
        await using var etcd = EtcdProcess.Start();
        await using var cluster = ProcessCluster.Create(1);
        cluster.Members[0].Start();
        await cluster.WaitForLeaderAsync();
        using (var reference = new EtcdClient(etcd.ClientUrl)) await Differential.WaitForEtcdAsync(etcd, reference);

        var expected = await ExchangeAsync(etcd.ClientUrl);
        var actual = await ExchangeAsync(cluster.Members[0].ClientUrl);
        Assert.Equal(expected, actual);
        Assert.Contains("\"created\":true", expected[0], StringComparison.Ordinal);
        Assert.Contains("\"canceled\":true", expected[3], StringComparison.Ordinal);
    }
}
