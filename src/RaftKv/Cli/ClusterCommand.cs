using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace RaftKv.Cli;

/// <summary>
/// <c>raftkv cluster</c>: starts N members as child processes on etcd's local-cluster ports, streams their
/// role-change lines prefixed by name, restarts nothing on its own, and stops them all on Ctrl+C. From another terminal,
/// <c>raftkv cluster add NAME</c> grows it and <c>raftkv cluster remove NAME</c> shrinks it (ClusterMembersCommand.cs).
/// </summary>
internal static partial class ClusterCommand
{
    public static Command Create()
    {
        var nodes = new Option<int>("--nodes") { Description = "Number of members (1 to 7)", DefaultValueFactory = _ => 3 };
        nodes.Validators.Add(r =>
        {
            var n = r.GetValueOrDefault<int>();
            if (n is < 1 or > LocalCluster.MaxNodes) r.AddError($"--nodes must be between 1 and {LocalCluster.MaxNodes}, was {n}");
        });
        var dataDir = new Option<string>("--data-dir") { Description = "Parent directory of the members' data directories", DefaultValueFactory = _ => "./data" };
        var heartbeat = new Option<int>("--heartbeat-interval") { Description = "Heartbeat interval (ms)", DefaultValueFactory = _ => 100 };
        var election = new Option<int>("--election-timeout") { Description = "Election timeout (ms)", DefaultValueFactory = _ => 1000 };
        var logLevel = new Option<string>("--log-level") { Description = "Members' log level: debug, info, warn, error", DefaultValueFactory = _ => "info" };
        var command = new Command("cluster", "Start a local cluster of members A, B, C, ... (client ports 2379, 22379, 32379, ...; dashboards on 8000, 8001, ...)")
        {
            nodes, dataDir, heartbeat, election, logLevel,
        };
        command.Subcommands.Add(AddCommand());
        command.Subcommands.Add(RemoveCommand());
        command.Subcommands.Add(ReplaceCommand());
        command.SetAction(async (parse, cancellationToken) =>
        {
            var n = parse.GetValue(nodes);
            var root = Path.GetFullPath(parse.GetValue(dataDir)!);
            var extra = new[]
            {
                "--heartbeat-interval", parse.GetValue(heartbeat).ToString(CultureInfo.InvariantCulture),
                "--election-timeout", parse.GetValue(election).ToString(CultureInfo.InvariantCulture),
                "--log-level", parse.GetValue(logLevel)!,
                "--allow-fault-injection",
            };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            return await RunAsync(n, root, extra, stop.Token).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(int nodes, string dataRoot, string[] extraArgs, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataRoot);
        Console.WriteLine($"raftkv local cluster: {nodes} members, data under {dataRoot}");
        Console.WriteLine($"  {"name",-4} {"client (etcd v3 gRPC)",-24} {"peer",-24} {"dashboard / HTTP API",-24}");
        for (var i = 0; i < nodes; i++)
        {
            Console.WriteLine($"  {LocalCluster.Name(i),-4} {LocalCluster.ClientUrl(i),-24} {LocalCluster.PeerUrl(i),-24} {LocalCluster.HttpUrl(i) + "/",-24}");
        }
        Console.WriteLine($"dashboard: {LocalCluster.HttpUrl(0)}/    etcdctl --endpoints={string.Join(",", Enumerable.Range(0, nodes).Select(i => $"127.0.0.1:{LocalCluster.ClientPort(i)}"))} endpoint status -w table");
        Console.WriteLine("press Ctrl+C to stop all members; grow or shrink it from another terminal: raftkv cluster add NAME, raftkv cluster remove NAME");

        var children = new List<(string Name, Process Process)>();
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                var name = LocalCluster.Name(i);
                var args = new List<string>
                {
                    "serve", "--name", name, "--data-dir", Path.Combine(dataRoot, name),
                    "--listen-client-urls", LocalCluster.ClientUrl(i), "--advertise-client-urls", LocalCluster.ClientUrl(i),
                    "--listen-peer-urls", LocalCluster.PeerUrl(i), "--initial-advertise-peer-urls", LocalCluster.PeerUrl(i),
                    "--listen-http-urls", LocalCluster.HttpUrl(i),
                    "--initial-cluster", LocalCluster.InitialCluster(nodes), "--initial-cluster-state", "new",
                    // If this launcher dies (even by SIGKILL) the pipe closes and the member stops: no orphans.
                    "--exit-on-stdin-eof",
                };
                args.AddRange(extraArgs);
                children.Add((name, StartMember(name, args)));
            }
            var exits = children.Select(c => WatchAsync(c.Name, c.Process)).ToArray();
            try
            {
                await Task.WhenAll(exits).WaitAsync(cancellationToken).ConfigureAwait(false);
                Console.WriteLine("all members exited");
                return 1;
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("stopping all members ...");
            }
        }
        finally
        {
            await StopAllAsync(children).ConfigureAwait(false);
        }
        return 0;
    }

    /// <summary>Starts <c>raftkv serve</c> with the same binary that runs this command.</summary>
    private static Process StartMember(string name, List<string> args)
    {
        var start = SelfInvocation();
        foreach (var a in args) start.ArgumentList.Add(a);
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"{name} | {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"{name} | {e.Data}"); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>How to run this program again: the apphost directly, or <c>dotnet raftkv.dll</c>.</summary>
    public static ProcessStartInfo SelfInvocation()
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find the running executable");
        var start = new ProcessStartInfo(processPath);
        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ClusterCommand).Assembly.Location);
        }
        return start;
    }

    private static async Task WatchAsync(string name, Process process)
    {
        await process.WaitForExitAsync().ConfigureAwait(false);
        Console.WriteLine($"{name} | exited with code {process.ExitCode} (not restarted)");
    }

    private static async Task StopAllAsync(List<(string Name, Process Process)> children)
    {
        foreach (var (_, p) in children)
        {
            if (!p.HasExited) _ = Kill(p.Id, Sigterm);
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        foreach (var (name, p) in children)
        {
            try
            {
                await p.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"{name} | did not stop within 10 s; killing it");
                p.Kill();
            }
            p.Dispose();
        }
    }

    private const int Sigterm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
