namespace RaftKv.Samples.GrpcCounter;

/// <summary>
/// A replicated counter in three processes: <c>dotnet run --project samples/GrpcCounter -- cluster</c> starts three
/// <c>node</c> processes on free loopback ports and stops them when its input ends (Enter or Ctrl+D) or on Ctrl+C.
/// Each node serves the Raft peer protocol over gRPC and a small HTTP API: <c>POST /add/{n}</c> (on a follower:
/// redirected to the leader), <c>GET /value</c> (a linearizable read, on any node), <c>GET /status</c>.
/// </summary>
public static class Program
{
    /// <summary>Dispatches to the <c>cluster</c> or <c>node</c> command.</summary>
    public static Task<int> Main(string[] args) => args switch
    {
        ["cluster", ..] => ClusterCommand.RunAsync(args[1..]),
        ["node", ..] => NodeCommand.RunAsync(args[1..]),
        _ => Usage(),
    };

    private static Task<int> Usage()
    {
        Console.Error.WriteLine("usage: GrpcCounter cluster [--data DIR]\n       GrpcCounter node --id N --members 1=PEER_URL|API_URL,2=... --data DIR [--parent PID]");
        return Task.FromResult(2);
    }
}
