using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using RaftKv.Etcd.Api;
using EtcdMember = RaftKv.Etcd.Api.Member;

namespace RaftKv.Cli.Client;

/// <summary>
/// <c>raftkv member list | add NAME --peer-urls URLS [--learner] | remove MEMBER | promote MEMBER | update MEMBER --peer-urls URLS</c>
/// over etcd's Cluster service, as etcdctl's <c>member</c> commands. A member is named by its name or its hex id.
/// </summary>
internal static class MemberCommands
{
    public static Command Create()
    {
        var member = new Command("member", "List, add, remove, promote and update the cluster's members (etcd v3 Cluster)");
        member.Subcommands.Add(List());
        member.Subcommands.Add(Add());
        member.Subcommands.Add(Remove());
        member.Subcommands.Add(Promote());
        member.Subcommands.Add(Update());
        return member;
    }

    /// <summary>A member as the commands print it in JSON.</summary>
    internal sealed record MemberRow(string Id, string Name, string Status, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls, bool IsLearner);

    internal static MemberRow Row(EtcdMember m) =>
        new(ClientCommands.Hex(m.ID), m.Name, m.Name.Length > 0 ? "started" : "unstarted", [.. m.PeerURLs], [.. m.ClientURLs], m.IsLearner);

    private static Argument<string> MemberArgument() =>
        new("member") { Description = "The member: its name, or its id in hex (as 'raftkv member list' prints it)" };

    private static Option<string> PeerUrlsOption(bool required) => new("--peer-urls")
    {
        Description = "Comma-separated peer URLs of the member, like http://127.0.0.1:42380",
        Required = required,
    };

    private static Command List()
    {
        var options = new ClientOptions();
        var command = new Command("list", "List the members: id, started or not, name, peer and client URLs, learner or voter");
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("member list", parse, options, async (endpoints, json) =>
        {
            var (list, _) = await endpoints.FirstAsync((c, o) => new Cluster.ClusterClient(c).MemberListAsync(new MemberListRequest { Linearizable = true }, o).ResponseAsync, ct)
                .ConfigureAwait(false);
            var rows = list.Members.Select(Row).ToArray();
            if (json)
            {
                ClientCommands.WriteJson(new { clusterId = ClientCommands.Hex(list.Header.ClusterId), members = rows });
                return 0;
            }
            Console.Out.Write(Table(rows));
            return 0;
        }));
        return command;
    }

    internal static string Table(IEnumerable<MemberRow> rows)
    {
        var table = new Table("ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER");
        foreach (var r in rows) table.Add(r.Id, r.Status, r.Name, string.Join(",", r.PeerUrls), string.Join(",", r.ClientUrls), r.IsLearner ? "true" : "false");
        return table.ToString();
    }

    private static Command Add()
    {
        var options = new ClientOptions();
        var name = new Argument<string>("name") { Description = "Name the new member will start with (--name of 'raftkv serve')" };
        var peerUrls = PeerUrlsOption(required: true);
        var learner = new Option<bool>("--learner") { Description = "Add it as a learner (receives the log, does not vote) to promote once caught up" };
        var command = new Command("add", "Add a member; then start it with the printed 'raftkv serve ... --initial-cluster-state existing'") { name };
        command.Options.Add(peerUrls);
        command.Options.Add(learner);
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("member add", parse, options, async (endpoints, json) =>
        {
            var urls = ParseUrls(parse.GetValue(peerUrls)!);
            var memberName = parse.GetValue(name)!;
            var (response, _) = await AddAsync(endpoints, urls, parse.GetValue(learner), ct).ConfigureAwait(false);
            var initialCluster = InitialCluster(response.Members, response.Member.ID, memberName);
            if (json)
            {
                ClientCommands.WriteJson(new
                {
                    clusterId = ClientCommands.Hex(response.Header.ClusterId), member = Row(response.Member) with { Name = memberName },
                    members = response.Members.Select(Row).ToArray(), initialCluster, initialClusterState = "existing",
                });
                return 0;
            }
            var role = response.Member.IsLearner ? "learner" : "member";
            Console.Out.Write($"{role} {ClientCommands.Hex(response.Member.ID)} added to cluster {ClientCommands.Hex(response.Header.ClusterId)}\n\n" +
                $"start it with:\n  raftkv serve --name {memberName} --initial-advertise-peer-urls {string.Join(",", urls)} --listen-peer-urls {string.Join(",", urls)} " +
                $"--initial-cluster \"{initialCluster}\" --initial-cluster-state existing\n" +
                (response.Member.IsLearner ? $"and once it has caught up: raftkv member promote {memberName}\n" : ""));
            return 0;
        }));
        return command;
    }

    /// <summary>MemberAdd at the first endpoint that answers.</summary>
    internal static async Task<(MemberAddResponse Response, Uri Endpoint)> AddAsync(EtcdEndpoints endpoints, IReadOnlyList<string> peerUrls, bool learner, CancellationToken ct)
    {
        var request = new MemberAddRequest { PeerURLs = { peerUrls }, IsLearner = learner };
        return await endpoints.FirstAsync((c, o) => new Cluster.ClusterClient(c).MemberAddAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
    }

    /// <summary>etcdctl's ETCD_INITIAL_CLUSTER: the started members by name, and the new one.</summary>
    internal static string InitialCluster(IEnumerable<EtcdMember> members, ulong newId, string newName) =>
        string.Join(",", members.Where(m => m.ID == newId || m.Name.Length > 0)
            .SelectMany(m => m.PeerURLs.Select(u => $"{(m.ID == newId ? newName : m.Name)}={u}")));

    private static Command Remove()
    {
        var options = new ClientOptions();
        var member = MemberArgument();
        var command = new Command("remove", "Remove a member (it stops; a removed member cannot come back under its id)") { member };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("member remove", parse, options, async (endpoints, json) =>
        {
            var target = await ResolveAsync(endpoints, parse.GetValue(member)!, ct).ConfigureAwait(false);
            if (target is null) return 1;
            var (response, _) = await Explain("member remove", target, () => RemoveAsync(endpoints, target.ID, ct)).ConfigureAwait(false);
            if (response is null) return 1;
            if (json) ClientCommands.WriteJson(new { removed = Row(target), members = response.Members.Select(Row).ToArray() });
            else Console.Out.Write($"member {Label(target)} removed from cluster {ClientCommands.Hex(response.Header.ClusterId)}\n");
            return 0;
        }));
        return command;
    }

    /// <summary>MemberRemove at the first endpoint that answers.</summary>
    internal static async Task<(MemberRemoveResponse Response, Uri Endpoint)> RemoveAsync(EtcdEndpoints endpoints, ulong id, CancellationToken ct) =>
        await endpoints.FirstAsync((c, o) => new Cluster.ClusterClient(c).MemberRemoveAsync(new MemberRemoveRequest { ID = id }, o).ResponseAsync, ct).ConfigureAwait(false);

    private static Command Promote()
    {
        var options = new ClientOptions();
        var member = MemberArgument();
        var command = new Command("promote", "Make a learner that has caught up a voting member") { member };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("member promote", parse, options, async (endpoints, json) =>
        {
            var target = await ResolveAsync(endpoints, parse.GetValue(member)!, ct).ConfigureAwait(false);
            if (target is null) return 1;
            if (!target.IsLearner)
            {
                await Console.Error.WriteLineAsync($"raftkv member promote: {Label(target)} is a voting member already, not a learner").ConfigureAwait(false);
                return 1;
            }
            var (response, _) = await Explain("member promote", target, () => PromoteAsync(endpoints, target.ID, ct)).ConfigureAwait(false);
            if (response is null) return 1;
            if (json) ClientCommands.WriteJson(new { promoted = Row(target) with { IsLearner = false }, members = response.Members.Select(Row).ToArray() });
            else Console.Out.Write($"member {Label(target)} promoted to a voting member in cluster {ClientCommands.Hex(response.Header.ClusterId)}\n");
            return 0;
        }));
        return command;
    }

    /// <summary>MemberPromote at the first endpoint that answers.</summary>
    internal static async Task<(MemberPromoteResponse Response, Uri Endpoint)> PromoteAsync(EtcdEndpoints endpoints, ulong id, CancellationToken ct) =>
        await endpoints.FirstAsync((c, o) => new Cluster.ClusterClient(c).MemberPromoteAsync(new MemberPromoteRequest { ID = id }, o).ResponseAsync, ct).ConfigureAwait(false);

    private static Command Update()
    {
        var options = new ClientOptions();
        var member = MemberArgument();
        var peerUrls = PeerUrlsOption(required: true);
        var command = new Command("update", "Replace a member's peer URLs") { member };
        command.Options.Add(peerUrls);
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("member update", parse, options, async (endpoints, json) =>
        {
            var urls = ParseUrls(parse.GetValue(peerUrls)!);
            var target = await ResolveAsync(endpoints, parse.GetValue(member)!, ct).ConfigureAwait(false);
            if (target is null) return 1;
            var request = new MemberUpdateRequest { ID = target.ID, PeerURLs = { urls } };
            var (response, _) = await Explain("member update", target,
                () => endpoints.FirstAsync((c, o) => new Cluster.ClusterClient(c).MemberUpdateAsync(request, o).ResponseAsync, ct)).ConfigureAwait(false);
            if (response is null) return 1;
            if (json) ClientCommands.WriteJson(new { updated = Row(target) with { PeerUrls = urls }, members = response.Members.Select(Row).ToArray() });
            else Console.Out.Write($"member {Label(target)} updated in cluster {ClientCommands.Hex(response.Header.ClusterId)}: peer URLs {string.Join(",", urls)}\n");
            return 0;
        }));
        return command;
    }

    /// <summary>"D (8e9e05c52164694d)", or the id alone for a member that has not started.</summary>
    internal static string Label(EtcdMember m) => m.Name.Length > 0 ? $"{m.Name} ({ClientCommands.Hex(m.ID)})" : ClientCommands.Hex(m.ID);

    /// <summary>The member named <paramref name="nameOrId"/> (by name, else by hex id); null after saying on stderr that there is none.</summary>
    internal static async Task<EtcdMember?> ResolveAsync(EtcdEndpoints endpoints, string nameOrId, CancellationToken ct)
    {
        var (list, _) = await endpoints.FirstAsync((c, o) => new Cluster.ClusterClient(c).MemberListAsync(new MemberListRequest { Linearizable = true }, o).ResponseAsync, ct)
            .ConfigureAwait(false);
        var found = list.Members.FirstOrDefault(m => m.Name == nameOrId);
        if (found is null && ulong.TryParse(nameOrId, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id))
            found = list.Members.FirstOrDefault(m => m.ID == id);
        if (found is null)
        {
            var known = string.Join(", ", list.Members.Select(Label));
            await Console.Error.WriteLineAsync($"raftkv: no member named '{nameOrId}' or with that id (members: {known})").ConfigureAwait(false);
        }
        return found;
    }

    // Runs a change on one member; an error the cluster gives (not found, not ready, ...) is printed naming the member.
    private static async Task<(T? Response, Uri? Endpoint)> Explain<T>(string command, EtcdMember target, Func<Task<(T, Uri)>> call) where T : class
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RpcException e) when (!EtcdEndpoints.IsTransient(e) && e.StatusCode != StatusCode.Cancelled)
        {
            await Console.Error.WriteLineAsync($"raftkv {command}: {Label(target)}: {EtcdEndpoints.Describe(e)}").ConfigureAwait(false);
            return (null, null);
        }
    }

    /// <summary>Parses --peer-urls: http://host:port, comma-separated (throws <see cref="FormatException"/>, exit code 2).</summary>
    internal static string[] ParseUrls(string text)
    {
        var urls = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0) throw new FormatException("--peer-urls is empty");
        return urls.Select(u => Server.Membership.ParseUrl(u, "--peer-urls").GetLeftPart(UriPartial.Authority)).ToArray();
    }
}
