using System.CommandLine;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;

namespace RaftKv.Cli.Client;

/// <summary>
/// <c>raftkv watch K [--prefix] [--rev R] [--prev-kv] [--progress-notify]</c>: prints changes as they happen (etcd v3
/// Watch) until Ctrl+C or --max-events. A watch the server cancels ends with exit code 1 and the reason; one cancelled
/// because its history was compacted says the revision to resume from.
/// </summary>
internal static class WatchCommand
{
    public static Command Create()
    {
        var options = new ClientOptions();
        var key = new Argument<string>("key") { Description = "The key (or prefix with --prefix)" };
        var prefix = new Option<bool>("--prefix") { Description = "Every key starting with the key" };
        var revision = new Option<long>("--rev") { Description = "Start at this revision (0: from now)", DefaultValueFactory = _ => 0 };
        var prevKv = new Option<bool>("--prev-kv") { Description = "Also print each key's previous value (before the change)" };
        var progressNotify = new Option<bool>("--progress-notify") { Description = "Ask for periodic progress notifications while nothing changes" };
        var maxEvents = new Option<long>("--max-events") { Description = "Stop after this many events (0: run until Ctrl+C)", DefaultValueFactory = _ => 0 };
        var command = new Command("watch", "Print changes to a key or prefix as they happen") { key, prefix, revision, prevKv, progressNotify, maxEvents };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("watch", parse, options, async (endpoints, json) =>
        {
            var (k, end) = KvCommands.Range(parse.GetValue(key)!, parse.GetValue(prefix));
            var create = new WatchRequest
            {
                CreateRequest = new WatchCreateRequest
                {
                    Key = k, RangeEnd = end, StartRevision = parse.GetValue(revision), PrevKv = parse.GetValue(prevKv),
                    ProgressNotify = parse.GetValue(progressNotify),
                },
            };
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
                var next = create.CreateRequest.StartRevision; // the first revision not yet printed (0: from now)
                try
                {
                    do
                    {
                        var response = call.ResponseStream.Current;
                        if (response.Canceled) return await CanceledAsync(response, next).ConfigureAwait(false);
                        if (IsProgress(response)) PrintProgress(response, json);
                        foreach (var e in response.Events)
                        {
                            Print(e, json);
                            next = e.Kv.ModRevision + 1;
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

    /// <summary>
    /// A progress notification (clientv3's IsProgressNotify): no events, neither created nor canceled. Answers to
    /// RequestProgress look the same; this command sends none.
    /// </summary>
    private static bool IsProgress(WatchResponse response) =>
        response.Events.Count == 0 && !response.Created && !response.Canceled && response.CompactRevision == 0;

    /// <summary>Says why the server ended the watch (and where to resume after a compaction); exit code 1.</summary>
    private static async Task<int> CanceledAsync(WatchResponse response, long nextRevision)
    {
        var needed = nextRevision > 0 ? $"revision {nextRevision}" : "the revisions it needed";
        var message = response.CompactRevision > 0
            ? $"raftkv watch: watch canceled: {needed} was compacted; " +
              $"the oldest revision left is {response.CompactRevision}: resume with --rev {response.CompactRevision}" +
              (string.IsNullOrEmpty(response.CancelReason) ? "" : $" ({response.CancelReason})")
            : $"raftkv watch: watch canceled by the server: {(string.IsNullOrEmpty(response.CancelReason) ? "no reason given" : response.CancelReason)}";
        await Console.Out.FlushAsync().ConfigureAwait(false);
        await Console.Error.WriteLineAsync(message).ConfigureAwait(false);
        return 1;
    }

    private static void PrintProgress(WatchResponse response, bool json)
    {
        // etcdctl prints "progress notify: REV" for these.
        if (json) ClientCommands.WriteJson(new { type = "PROGRESS", revision = response.Header?.Revision ?? 0 });
        else Console.Out.Write($"progress notify: {response.Header?.Revision ?? 0}\n");
        Console.Out.Flush();
    }

    private static void Print(Event e, bool json)
    {
        var kind = e.Type == Event.Types.EventType.Put ? "PUT" : "DELETE";
        if (json)
        {
            var prev = e.PrevKv is { } p ? new { key = p.Key.ToStringUtf8(), value = p.Value.ToStringUtf8(), modRevision = p.ModRevision } : null;
            ClientCommands.WriteJson(new { type = kind, key = e.Kv.Key.ToStringUtf8(), value = e.Kv.Value.ToStringUtf8(), modRevision = e.Kv.ModRevision, prevKv = prev });
            return;
        }
        Console.Out.Write(e.Type == Event.Types.EventType.Put ? $"PUT {e.Kv.Key.ToStringUtf8()} {e.Kv.Value.ToStringUtf8()}\n" : $"DELETE {e.Kv.Key.ToStringUtf8()}\n");
        // etcdctl --prev-kv prints the previous key and value with each event; here on the line after it, indented.
        if (e.PrevKv is { } previous) Console.Out.Write($"  prev {previous.Key.ToStringUtf8()} {previous.Value.ToStringUtf8()}\n");
        Console.Out.Flush();
    }
}
