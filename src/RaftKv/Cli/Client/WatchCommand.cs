using System.CommandLine;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;

namespace RaftKv.Cli.Client;

/// <summary><c>raftkv watch K [--prefix]</c>: prints changes as they happen (etcd v3 Watch) until Ctrl+C or --max-events.</summary>
internal static class WatchCommand
{
    public static Command Create()
    {
        var options = new ClientOptions();
        var key = new Argument<string>("key") { Description = "The key (or prefix with --prefix)" };
        var prefix = new Option<bool>("--prefix") { Description = "Every key starting with the key" };
        var revision = new Option<long>("--rev") { Description = "Start at this revision (0: from now)", DefaultValueFactory = _ => 0 };
        var maxEvents = new Option<long>("--max-events") { Description = "Stop after this many events (0: run until Ctrl+C)", DefaultValueFactory = _ => 0 };
        var command = new Command("watch", "Print changes to a key or prefix as they happen") { key, prefix, revision, maxEvents };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("watch", parse, options, async (endpoints, json) =>
        {
            var (k, end) = KvCommands.Range(parse.GetValue(key)!, parse.GetValue(prefix));
            var create = new WatchRequest { CreateRequest = new WatchCreateRequest { Key = k, RangeEnd = end, StartRevision = parse.GetValue(revision) } };
            var limit = parse.GetValue(maxEvents);
            // Connect to the first endpoint that accepts the watch; the stream itself has no deadline.
            var (call, endpoint) = await endpoints.FirstAsync(async (c, _) =>
            {
                var stream = new Watch.WatchClient(c).Watch(cancellationToken: ct);
                await stream.RequestStream.WriteAsync(create, ct).ConfigureAwait(false);
                using var first = CancellationTokenSource.CreateLinkedTokenSource(ct);
                first.CancelAfter(endpoints.CommandTimeout);
                if (!await stream.ResponseStream.MoveNext(first.Token).ConfigureAwait(false))
                    throw new RpcException(new Status(StatusCode.Unavailable, "the watch stream closed at once"));
                return stream;
            }, ct).ConfigureAwait(false);
            using (call)
            {
                if (!json) await Console.Error.WriteLineAsync($"watching '{parse.GetValue(key)}'{(parse.GetValue(prefix) ? " (prefix)" : "")} at {EtcdEndpoints.Show(endpoint)}; Ctrl+C stops").ConfigureAwait(false);
                long seen = 0;
                try
                {
                    do
                    {
                        var response = call.ResponseStream.Current;
                        if (response.Canceled) throw new RpcException(new Status(StatusCode.FailedPrecondition, $"watch canceled: {response.CancelReason}"));
                        foreach (var e in response.Events)
                        {
                            Print(e, json);
                            if (limit > 0 && ++seen >= limit) return 0;
                        }
                    }
                    while (await call.ResponseStream.MoveNext(ct).ConfigureAwait(false));
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled || ct.IsCancellationRequested)
                {
                }
            }
            return 0;
        }));
        return command;
    }

    private static void Print(Event e, bool json)
    {
        var kind = e.Type == Event.Types.EventType.Put ? "PUT" : "DELETE";
        if (json)
        {
            ClientCommands.WriteJson(new { type = kind, key = e.Kv.Key.ToStringUtf8(), value = e.Kv.Value.ToStringUtf8(), modRevision = e.Kv.ModRevision });
            return;
        }
        Console.Out.Write(e.Type == Event.Types.EventType.Put ? $"PUT {e.Kv.Key.ToStringUtf8()} {e.Kv.Value.ToStringUtf8()}\n" : $"DELETE {e.Kv.Key.ToStringUtf8()}\n");
        Console.Out.Flush();
    }
}
