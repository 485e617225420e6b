using System.CommandLine;

namespace RaftKv.Cli;

/// <summary>The <c>raftkv</c> command line: subcommands for the server, the local cluster and client tools.</summary>
public static class RaftKvCli
{
    /// <summary>Parses and runs; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("raftkv: a replicated key-value store on Raft that speaks the etcd v3 API");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(ClusterCommand.Create());
        root.Subcommands.Add(CertsCommand.Create());
        foreach (var client in Client.ClientCommands.Create()) root.Subcommands.Add(client);
        root.Subcommands.Add(Bench.BenchCommand.Create());
        root.Subcommands.Add(Wal.WalCommand.Create());
        var parse = root.Parse(args);
        // Commands handle SIGINT/SIGTERM themselves (graceful stop of the server, of a cluster's members).
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }
}
