using System.CommandLine;
using Google.Protobuf;
using RaftKv.Etcd.Api;

namespace RaftKv.Cli.Client;

/// <summary><c>raftkv put K V</c>, <c>raftkv get K [--prefix]</c>, <c>raftkv del K [--prefix]</c>.</summary>
internal static class KvCommands
{
    public static Command Put()
    {
        var options = new ClientOptions();
        var key = new Argument<string>("key") { Description = "The key" };
        var value = new Argument<string>("value") { Description = "The value" };
        var command = new Command("put", "Write a key (etcd v3 Put)") { key, value };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("put", parse, options, async (endpoints, json) =>
        {
            var request = new PutRequest { Key = ByteString.CopyFromUtf8(parse.GetValue(key)!), Value = ByteString.CopyFromUtf8(parse.GetValue(value)!) };
            var (response, endpoint) = await endpoints.FirstAsync((c, o) => new KV.KVClient(c).PutAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
            if (json) ClientCommands.WriteJson(new { revision = response.Header.Revision, endpoint = EtcdEndpoints.Show(endpoint) });
            else Console.Out.Write("OK\n");
            return 0;
        }));
        return command;
    }

    public static Command Get()
    {
        var options = new ClientOptions();
        var key = new Argument<string>("key") { Description = "The key (or prefix with --prefix; \"\" with --prefix lists every key)" };
        var prefix = new Option<bool>("--prefix") { Description = "Every key starting with the key" };
        var serializable = new Option<bool>("--serializable") { Description = "Read the endpoint's local state (may be stale) instead of a linearizable read" };
        var limit = new Option<long>("--limit") { Description = "Most keys to return (0: no limit)", DefaultValueFactory = _ => 0 };
        var command = new Command("get", "Read a key or a prefix (etcd v3 Range)") { key, prefix, serializable, limit };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("get", parse, options, async (endpoints, json) =>
        {
            var (k, end) = Range(parse.GetValue(key)!, parse.GetValue(prefix));
            var request = new RangeRequest { Key = k, RangeEnd = end, Serializable = parse.GetValue(serializable), Limit = parse.GetValue(limit) };
            var (response, endpoint) = await endpoints.FirstAsync((c, o) => new KV.KVClient(c).RangeAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
            if (json)
            {
                ClientCommands.WriteJson(new
                {
                    revision = response.Header.Revision, count = response.Count, more = response.More, endpoint = EtcdEndpoints.Show(endpoint),
                    kvs = response.Kvs.Select(kv => new
                    {
                        key = kv.Key.ToStringUtf8(), value = kv.Value.ToStringUtf8(), createRevision = kv.CreateRevision, modRevision = kv.ModRevision,
                        version = kv.Version, lease = kv.Lease,
                    }),
                });
                return 0;
            }
            if (response.Kvs.Count == 0)
            {
                await Console.Error.WriteLineAsync($"no key matches '{parse.GetValue(key)}' (revision {response.Header.Revision})").ConfigureAwait(false);
                return 0;
            }
            var table = new Table("KEY", "VALUE", "MOD REV", "VERSION");
            foreach (var kv in response.Kvs) table.Add(kv.Key.ToStringUtf8(), kv.Value.ToStringUtf8(), kv.ModRevision, kv.Version);
            Console.Out.Write(table.ToString());
            return 0;
        }));
        return command;
    }

    public static Command Delete()
    {
        var options = new ClientOptions();
        var key = new Argument<string>("key") { Description = "The key (or prefix with --prefix)" };
        var prefix = new Option<bool>("--prefix") { Description = "Every key starting with the key" };
        var command = new Command("del", "Delete a key or a prefix (etcd v3 DeleteRange)") { key, prefix };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("del", parse, options, async (endpoints, json) =>
        {
            var (k, end) = Range(parse.GetValue(key)!, parse.GetValue(prefix));
            var request = new DeleteRangeRequest { Key = k, RangeEnd = end };
            var (response, endpoint) = await endpoints.FirstAsync((c, o) => new KV.KVClient(c).DeleteRangeAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
            if (json) ClientCommands.WriteJson(new { deleted = response.Deleted, revision = response.Header.Revision, endpoint = EtcdEndpoints.Show(endpoint) });
            else Console.Out.Write($"{response.Deleted}\n");
            return 0;
        }));
        return command;
    }

    /// <summary>The key and range end for a key or a prefix (etcd's GetPrefixRangeEnd; "" with --prefix is every key).</summary>
    internal static (ByteString Key, ByteString End) Range(string key, bool prefix)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(key);
        if (!prefix) return (ByteString.CopyFrom(bytes), ByteString.Empty);
        if (bytes.Length == 0) return (ByteString.CopyFrom(0), ByteString.CopyFrom(0));
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                var end = bytes[..(i + 1)];
                end[i]++;
                return (ByteString.CopyFrom(bytes), ByteString.CopyFrom(end));
            }
        }
        return (ByteString.CopyFrom(bytes), ByteString.CopyFrom(0));
    }
}
