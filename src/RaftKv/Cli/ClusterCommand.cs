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
        var tls = new Option<bool>("--tls")
        {
            Description = "https:// client and peer URLs with client-certificate auth: a local CA and certificates under <data-dir>/tls (made once), etcdctl's flags printed",
        };
        var command = new Command("cluster", "Start a local cluster of members A, B, C, ... (client ports 2379, 22379, 32379, ...; dashboards on 8000, 8001, ...)")
        {
            nodes, dataDir, heartbeat, election, logLevel, tls,
        };
        command.Subcommands.Add(AddCommand());
        command.Subcommands.Add(RemoveCommand());
        command.Subcommands.Add(ReplaceCommand());
        command.SetAction(async (parse, cancellationToken) =>
        {
            var n = parse.GetValue(nodes);
            var root = Path.GetFullPath(parse.GetValue(dataDir)!);
            var useTls = parse.GetValue(tls);
            var extra = new List<string>
            {
                "--heartbeat-interval", parse.GetValue(heartbeat).ToString(CultureInfo.InvariantCulture),
                "--election-timeout", parse.GetValue(election).ToString(CultureInfo.InvariantCulture),
                "--log-level", parse.GetValue(logLevel)!,
                "--allow-fault-injection",
            };
            if (useTls) extra.AddRange(TlsArgs(root));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            return await RunAsync(n, root, [.. extra], useTls, stop.Token).ConfigureAwait(false);
        });
        return command;
    }

    // The certificates under <data-dir>/tls (made with .NET's CertificateRequest on the first run, kept after), and the
    // serve flags that use them: TLS on the client and peer ports, client certificates required on both (the peer's by name).
    private static string[] TlsArgs(string dataRoot)
    {
        var certs = Server.Tls.LocalCertificates.Ensure(Path.Combine(dataRoot, "tls"));
        return
        [
            "--cert-file", certs.ServerCertFile, "--key-file", certs.ServerKeyFile, "--trusted-ca-file", certs.CaFile, "--client-cert-auth",
            "--peer-cert-file", certs.PeerCertFile, "--peer-key-file", certs.PeerKeyFile, "--peer-trusted-ca-file", certs.CaFile, "--peer-client-cert-auth",
            // Only the members' own certificate may speak on the peer ports, not etcdctl's (same CA, CN root).
            "--peer-cert-allowed-cn", "raftkv peer",
        ];
    }

    private static async Task<int> RunAsync(int nodes, string dataRoot, string[] extraArgs, bool tls, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataRoot);
        Console.WriteLine($"raftkv local cluster: {nodes} members, data under {dataRoot}{(tls ? ", TLS with certificates under " + Path.Combine(dataRoot, "tls") : "")}");
        Console.WriteLine($"  {"name",-4} {"client (etcd v3 gRPC)",-24} {"peer",-24} {"dashboard / HTTP API",-24}");
        for (var i = 0; i < nodes; i++)
        {
            Console.WriteLine($"  {LocalCluster.Name(i),-4} {LocalCluster.ClientUrl(i, tls),-24} {LocalCluster.PeerUrl(i, tls),-24} {LocalCluster.HttpUrl(i) + "/",-24}");
        }
        var tlsFlags = tls ? " " + new Server.Tls.LocalCertificates(Path.Combine(dataRoot, "tls")).EtcdctlFlags : "";
        var endpoints = tls ? LocalCluster.ClientEndpoints(nodes, tls: true)
            : string.Join(",", Enumerable.Range(0, nodes).Select(i => $"127.0.0.1:{LocalCluster.ClientPort(i)}"));
        Console.WriteLine($"dashboard: {LocalCluster.HttpUrl(0)}/    etcdctl --endpoints={endpoints}{tlsFlags} endpoint status -w table");
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
                    "--listen-client-urls", LocalCluster.ClientUrl(i, tls), "--advertise-client-urls", LocalCluster.ClientUrl(i, tls),
                    "--listen-peer-urls", LocalCluster.PeerUrl(i, tls), "--initial-advertise-peer-urls", LocalCluster.PeerUrl(i, tls),
                    "--listen-http-urls", LocalCluster.HttpUrl(i),
                    "--initial-cluster", LocalCluster.InitialCluster(nodes, tls), "--initial-cluster-state", "new",
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
