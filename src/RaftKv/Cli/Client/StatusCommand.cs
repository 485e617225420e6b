using System.CommandLine;
using Grpc.Core;
using RaftKv.Etcd.Api;

namespace RaftKv.Cli.Client;

/// <summary><c>raftkv status</c>: every endpoint's Raft state in one table (etcd v3 Maintenance.Status and Cluster.MemberList).</summary>
internal static class StatusCommand
{
    private sealed record Row(string Endpoint, string Name, string Id, string Role, ulong Term, ulong Commit, ulong Applied, ulong? Lag,
        long Revision, long DbSize, string Version, IReadOnlyList<string> Errors, string? Unreachable);

    public static Command Create()
    {
        var options = new ClientOptions();
        var command = new Command("status", "Show every member: name, endpoint, role, term, commit and applied index, lag behind the leader");
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("status", parse, options, async (endpoints, json) =>
        {
            var answers = await Task.WhenAll(endpoints.All.Select(async e =>
            {
                try
                {
                    return (Endpoint: e, Status: await new Maintenance.MaintenanceClient(endpoints.Channel(e)).StatusAsync(new StatusRequest(), endpoints.Options(ct)).ResponseAsync.ConfigureAwait(false),
                        Error: (string?)null);
                }
                catch (RpcException x) when (x.StatusCode != StatusCode.Cancelled)
                {
                    return (Endpoint: e, Status: (StatusResponse?)null, Error: EtcdEndpoints.Describe(x));
                }
            })).ConfigureAwait(false);
            if (answers.All(a => a.Status is null))
                throw new NoEndpointException($"no endpoint answered: {string.Join(", ", answers.Select(a => $"{EtcdEndpoints.Show(a.Endpoint)} ({a.Error})"))}");

            var names = new Dictionary<ulong, string>();
            try
            {
                var (list, _) = await endpoints.FirstAsync((c, o) => new Cluster.ClusterClient(c).MemberListAsync(new MemberListRequest(), o).ResponseAsync, ct).ConfigureAwait(false);
                foreach (var m in list.Members) names[m.ID] = m.Name;
            }
            catch (NoEndpointException)
            {
                // Names are a nicety; ids still identify members.
            }
            var leader = answers.Where(a => a.Status is { } s && s.Leader == s.Header.MemberId).Select(a => a.Status!).MaxBy(s => s.RaftTerm);
            var rows = answers.Select(a => a.Status is not { } s
                ? new Row(EtcdEndpoints.Show(a.Endpoint), "", "", "unreachable", 0, 0, 0, null, 0, 0, "", [], a.Error)
                : new Row(EtcdEndpoints.Show(a.Endpoint), names.GetValueOrDefault(s.Header.MemberId, ""), ClientCommands.Hex(s.Header.MemberId),
                    s.Leader == 0 ? "no leader" : s.Leader == s.Header.MemberId ? "leader" : "follower", s.RaftTerm, s.RaftIndex, s.RaftAppliedIndex,
                    leader is null ? null : leader.RaftIndex > s.RaftAppliedIndex ? leader.RaftIndex - s.RaftAppliedIndex : 0,
                    s.Header.Revision, s.DbSize, s.Version, s.Errors.ToArray(), null)).ToArray();
            if (json)
            {
                ClientCommands.WriteJson(rows);
                return 0;
            }
            var table = new Table("NAME", "ENDPOINT", "ID", "ROLE", "TERM", "COMMIT", "APPLIED", "LAG", "REVISION", "DB SIZE", "ERRORS");
            foreach (var r in rows)
            {
                if (r.Unreachable is not null) table.Add("?", r.Endpoint, "", "unreachable", "", "", "", "", "", "", r.Unreachable);
                else table.Add(r.Name, r.Endpoint, r.Id, r.Role, r.Term, r.Commit, r.Applied, r.Lag?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
                    r.Revision, Size(r.DbSize), string.Join("; ", r.Errors));
            }
            Console.Out.Write(table.ToString());
            return 0;
        }));
        return command;
    }

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:F1} kB",
        _ => $"{bytes / (1024.0 * 1024):F1} MB",
    };
}
