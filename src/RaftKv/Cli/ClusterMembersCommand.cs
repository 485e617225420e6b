using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Grpc.Core;
using RaftKv.Cli.Client;

namespace RaftKv.Cli;

/// <summary>
/// <c>raftkv cluster add NAME</c> and <c>raftkv cluster remove NAME</c>: grow and shrink a local cluster from a second
/// terminal. <c>add</c> adds a learner with free ports (MemberAdd), starts it as its own child under the same data root
/// with <c>--initial-cluster-state existing</c>, promotes it once it has caught up (unless <c>--learner</c>), streams
/// its lines prefixed by name and stops it on Ctrl+C, as <c>raftkv cluster</c> does for the first members.
/// <c>remove</c> is MemberRemove by name; the removed member stops by itself. <c>replace OLD NEW</c> is the two in a row,
/// etcd's member replacement.
/// </summary>
internal static partial class ClusterCommand
{
    /// <summary>How long <c>cluster add</c> waits for the new learner to catch up before it gives up promoting it.</summary>
    private static readonly TimeSpan PromoteFor = TimeSpan.FromSeconds(60);

    // The flags of a member started by 'cluster add' or 'cluster replace'.
    private sealed class NewMemberFlags
    {
        public Option<string> DataDir { get; } = new("--data-dir") { Description = "Parent directory of the members' data directories (as given to 'raftkv cluster')", DefaultValueFactory = _ => "./data" };
        public Option<bool> Learner { get; } = new("--learner") { Description = "Leave it a learner (default: promote it to a voter once it has caught up)" };
        public Option<int> Heartbeat { get; } = new("--heartbeat-interval") { Description = "Heartbeat interval (ms), as the cluster's", DefaultValueFactory = _ => 100 };
        public Option<int> Election { get; } = new("--election-timeout") { Description = "Election timeout (ms), as the cluster's", DefaultValueFactory = _ => 1000 };
        public Option<string> LogLevel { get; } = new("--log-level") { Description = "Its log level: debug, info, warn, error", DefaultValueFactory = _ => "info" };

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { DataDir, Learner, Heartbeat, Election, LogLevel }) command.Options.Add(option);
        }
    }

    private static Command AddCommand()
    {
        var options = new ClientOptions();
        var flags = new NewMemberFlags();
        var name = new Argument<string>("name") { Description = "Name of the new member (its data directory is DATA_DIR/NAME)" };
        var command = new Command("add", "Add a member to the running local cluster on free ports, start it here, and promote it once caught up (Ctrl+C stops it)") { name };
        flags.AddTo(command);
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("cluster add", parse, options,
            (endpoints, _) => AddAndRunAsync(parse, flags, endpoints, parse.GetValue(name)!, ct)));
        return command;
    }

    // etcd's member replacement (its robustness tests do it this way): remove the old member, which stops by itself,
    // then add a new one with an empty data directory and new ports, start it with existing and promote it.
    private static Command ReplaceCommand()
    {
        var options = new ClientOptions();
        var flags = new NewMemberFlags();
        var old = new Argument<string>("old") { Description = "The member to replace: its name, or its id in hex" };
        var name = new Argument<string>("new") { Description = "Name of the member that takes its place (its data directory is DATA_DIR/NEW)" };
        var command = new Command("replace", "Replace a member of the running local cluster: remove OLD, then add NEW as 'cluster add' does (Ctrl+C stops NEW)") { old, name };
        flags.AddTo(command);
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("cluster replace", parse, options, async (endpoints, _) =>
        {
            var code = await RemoveByNameAsync("cluster replace", endpoints, parse.GetValue(old)!, ct).ConfigureAwait(false);
            return code != 0 ? code : await AddAndRunAsync(parse, flags, endpoints, parse.GetValue(name)!, ct).ConfigureAwait(false);
        }));
        return command;
    }

    private static async Task<int> AddAndRunAsync(ParseResult parse, NewMemberFlags flags, EtcdEndpoints endpoints, string memberName, CancellationToken ct)
    {
        if (memberName.Length == 0 || memberName.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_')))
            throw new FormatException($"'{memberName}' is not a member name: use letters, digits, '-' and '_'");
        var root = Path.GetFullPath(parse.GetValue(flags.DataDir)!);
        var memberDir = Path.Combine(root, memberName);
        if (Directory.Exists(memberDir))
            throw new FormatException($"{memberDir} exists: a member named {memberName} was started here before; pick another name or delete the directory");
        var (list, _) = await endpoints.FirstAsync((c, o) => new Etcd.Api.Cluster.ClusterClient(c).MemberListAsync(new Etcd.Api.MemberListRequest(), o).ResponseAsync, ct).ConfigureAwait(false);
        if (list.Members.Any(m => m.Name == memberName))
            throw new FormatException($"the cluster already has a member named {memberName}");

        string Url(int port) => $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        var (clientUrl, peerUrl, httpUrl) = (Url(FreePort()), Url(FreePort()), Url(FreePort()));
        var (added, _) = await MemberCommands.AddAsync(endpoints, [peerUrl], learner: true, ct).ConfigureAwait(false);
        var id = added.Member.ID;
        Console.WriteLine($"added {memberName} ({ClientCommands.Hex(id)}) as a learner: client {clientUrl}  peer {peerUrl}  dashboard {httpUrl}/  data {memberDir}");
        Directory.CreateDirectory(root);
        var args = new List<string>
        {
            "serve", "--name", memberName, "--data-dir", memberDir,
            "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
            "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--listen-http-urls", httpUrl,
            "--initial-cluster", MemberCommands.InitialCluster(added.Members, id, memberName), "--initial-cluster-state", "existing",
            "--heartbeat-interval", parse.GetValue(flags.Heartbeat).ToString(CultureInfo.InvariantCulture),
            "--election-timeout", parse.GetValue(flags.Election).ToString(CultureInfo.InvariantCulture),
            "--log-level", parse.GetValue(flags.LogLevel)!, "--allow-fault-injection", "--exit-on-stdin-eof",
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        var child = StartMember(memberName, args);
        var children = new List<(string Name, System.Diagnostics.Process Process)> { (memberName, child) };
        try
        {
            if (!parse.GetValue(flags.Learner)) await PromoteWhenReadyAsync(endpoints, memberName, id, child, stop.Token).ConfigureAwait(false);
            Console.WriteLine($"{memberName} runs; press Ctrl+C to stop it ('raftkv cluster remove {memberName}' removes it from the cluster)");
            await child.WaitForExitAsync(stop.Token).ConfigureAwait(false);
            Console.WriteLine($"{memberName} | exited with code {child.ExitCode}");
            return child.ExitCode;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.WriteLine($"stopping {memberName} ...");
            return 0;
        }
        finally
        {
            await StopAllAsync(children).ConfigureAwait(false);
        }
    }

    // etcd's rule: a learner is promoted once its log is within 10% of the leader's; until then the leader refuses.
    private static async Task PromoteWhenReadyAsync(EtcdEndpoints endpoints, string name, ulong id, System.Diagnostics.Process child, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + PromoteFor;
        string last = "";
        while (!child.HasExited)
        {
            try
            {
                await MemberCommands.PromoteAsync(endpoints, id, cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"{name} caught up and was promoted to a voting member");
                return;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition)
            {
                last = EtcdEndpoints.Describe(e); // not caught up yet
            }
            catch (NoEndpointException e)
            {
                last = e.Message;
            }
            if (DateTime.UtcNow > until)
            {
                Console.Error.WriteLine($"{name} was not promoted within {PromoteFor.TotalSeconds:0} s ({last}); it stays a learner: 'raftkv member promote {name}'");
                return;
            }
            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
    }

    private static Command RemoveCommand()
    {
        var options = new ClientOptions();
        var name = new Argument<string>("name") { Description = "The member: its name, or its id in hex" };
        var command = new Command("remove", "Remove a member from the running local cluster (it stops by itself; its data directory stays)") { name };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("cluster remove", parse, options,
            (endpoints, _) => RemoveByNameAsync("cluster remove", endpoints, parse.GetValue(name)!, ct)));
        return command;
    }

    private static async Task<int> RemoveByNameAsync(string verb, EtcdEndpoints endpoints, string member, CancellationToken ct)
    {
        var target = await MemberCommands.ResolveAsync(endpoints, member, ct).ConfigureAwait(false);
        if (target is null) return 1;
        try
        {
            var (response, _) = await MemberCommands.RemoveAsync(endpoints, target.ID, ct).ConfigureAwait(false);
            Console.WriteLine($"removed {MemberCommands.Label(target)}; members now: {string.Join(", ", response.Members.Select(MemberCommands.Label))}");
            return 0;
        }
        catch (RpcException e) when (!EtcdEndpoints.IsTransient(e) && e.StatusCode != StatusCode.Cancelled)
        {
            await Console.Error.WriteLineAsync($"raftkv {verb}: {MemberCommands.Label(target)}: {EtcdEndpoints.Describe(e)}").ConfigureAwait(false);
            return 1;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
