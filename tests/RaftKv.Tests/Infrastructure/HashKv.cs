using Etcdserverpb;
using Grpc.Core;

namespace RaftKv.Tests.Infrastructure;

/// <summary>Compares members' state end to end: etcd's HashKV of every member at one revision.</summary>
public static class HashKv
{
    /// <summary>
    /// Polls until every member has applied <paramref name="revision"/> and answers HashKV at it; a member that has
    /// stopped fails at once. Compare the hashes (paper section 5.4.3: every member applies the same history).
    /// </summary>
    public static Task<List<HashKVResponse>> OfEveryMemberAsync(ProcessCluster cluster, long revision, TimeSpan timeout, string what) =>
        Poll.UntilAsync(async () =>
        {
            var results = new List<HashKVResponse>();
            foreach (var m in cluster.Members)
            {
                if (!m.IsRunning) throw new InvalidOperationException($"{m.Name} stopped:\n{m.OutputTail()}");
                using var channel = m.OpenChannel();
                try
                {
                    results.Add(await new Maintenance.MaintenanceClient(channel).HashKVAsync(new HashKVRequest { Revision = revision }, deadline: DateTime.UtcNow.AddSeconds(10)));
                }
                catch (RpcException)
                {
                    return null;
                }
            }
            return results.All(r => r.Header.Revision >= revision) ? results : null;
        }, timeout, what, cluster.Diagnostics);
}
