using System.CommandLine;
using System.Text.Json;
using Grpc.Core;

namespace RaftKv.Cli.Client;

/// <summary>
/// The client side of <c>raftkv</c>: put, get, del, status, members, member, watch and lease over the etcd v3 gRPC API, so they
/// work against etcd too. Human tables by default, <c>-o json</c> for scripts; exit code 1 with a message naming
/// every endpoint when none answers, 2 for bad arguments.
/// </summary>
public static class ClientCommands
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The commands, to add to the root command.</summary>
    public static IEnumerable<Command> Create() =>
    [
        KvCommands.Put(), KvCommands.Get(), KvCommands.Delete(), StatusCommand.Create(), MembersCommand.Create(), MemberCommands.Create(), WatchCommand.Create(),
        LeaseCommands.Create(),
    ];

    /// <summary>Connects, runs <paramref name="body"/>, and turns failures into a message on stderr and an exit code.</summary>
    internal static async Task<int> RunAsync(string name, ParseResult parse, ClientOptions options,
        Func<EtcdEndpoints, bool, Task<int>> body)
    {
        EtcdEndpoints endpoints;
        try
        {
            endpoints = options.Connect(parse);
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync($"raftkv {name}: {e.Message}").ConfigureAwait(false);
            return 2;
        }
        using (endpoints)
        {
            try
            {
                return await body(endpoints, options.Json(parse)).ConfigureAwait(false);
            }
            catch (FormatException e)
            {
                await Console.Error.WriteLineAsync($"raftkv {name}: {e.Message}").ConfigureAwait(false);
                return 2;
            }
            catch (NoEndpointException e)
            {
                await Console.Error.WriteLineAsync($"raftkv {name}: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
            {
                await Console.Error.WriteLineAsync($"raftkv {name}: {EtcdEndpoints.Describe(e)}").ConfigureAwait(false);
                return 1;
            }
        }
    }

    /// <summary>Writes <paramref name="value"/> as indented JSON.</summary>
    internal static void WriteJson<T>(T value) => Console.Out.Write(JsonSerializer.Serialize(value, Json) + "\n");

    /// <summary>Member ids are shown in hex, as etcdctl shows them.</summary>
    internal static string Hex(ulong id) => id.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}
