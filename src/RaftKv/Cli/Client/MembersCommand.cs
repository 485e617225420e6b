using System.CommandLine;
using RaftKv.Etcd.Api;

namespace RaftKv.Cli.Client;

/// <summary><c>raftkv members</c>: the cluster's members (etcd v3 Cluster.MemberList), with the leader marked.</summary>
internal static class MembersCommand
{
    public static Command Create()
    {
        var options = new ClientOptions();
        var command = new Command("members", "List the cluster's members: id, name, peer and client URLs, leader");
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("members", parse, options, async (endpoints, json) =>
        {
            var (list, endpoint) = await endpoints.FirstAsync((c, o) => new Cluster.ClusterClient(c).MemberListAsync(new MemberListRequest(), o).ResponseAsync, ct).ConfigureAwait(false);
            ulong leader = 0;
            try
            {
                var (status, _) = await endpoints.FirstAsync((c, o) => new Maintenance.MaintenanceClient(c).StatusAsync(new StatusRequest(), o).ResponseAsync, ct).ConfigureAwait(false);
                leader = status.Leader;
            }
            catch (NoEndpointException)
            {
                // The list is still worth showing without a leader mark.
            }
            var members = list.Members.Select(m => new
            {
                id = ClientCommands.Hex(m.ID), name = m.Name, peerUrls = m.PeerURLs.ToArray(), clientUrls = m.ClientURLs.ToArray(), isLeader = m.ID == leader,
            }).ToArray();
            if (json)
            {
                ClientCommands.WriteJson(new { clusterId = ClientCommands.Hex(list.Header.ClusterId), endpoint = EtcdEndpoints.Show(endpoint), members });
                return 0;
            }
            var table = new Table("ID", "NAME", "PEER URLS", "CLIENT URLS", "LEADER");
            foreach (var m in members) table.Add(m.id, m.name.Length == 0 ? "(not answering)" : m.name, string.Join(",", m.peerUrls), string.Join(",", m.clientUrls), m.isLeader ? "*" : "");
            Console.Out.Write(table.ToString());
            return 0;
        }));
        return command;
    }
}
