using Grpc.Core;
using RaftKv.Etcd.Api;

namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// Membership changes as process tests make them: through any running member, retried within the election bound (a
/// leader change may refuse one). When a try's answer was lost, the retry meets etcd's error saying the earlier try
/// took effect ("member not found", "Peer URLs already exists"), and counts it as done.
/// </summary>
internal static class ClusterMembership
{
    /// <summary>The cluster's id for <paramref name="member"/>, found by its peer URL (known from MemberAdd on, before it starts).</summary>
    public static async Task<ulong> IdOfAsync(ProcessCluster cluster, MemberProcess member) =>
        (await Poll.UntilAsync(async () =>
        {
            using var channel = RunningMember(cluster)?.OpenChannel();
            if (channel is null) return null;
            try
            {
                var list = await new RaftKv.Etcd.Api.Cluster.ClusterClient(channel).MemberListAsync(new MemberListRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ConfigureAwait(false);
                return list.Members.SingleOrDefault(m => m.PeerURLs.Contains(member.PeerUrl))?.ID;
            }
            catch (RpcException)
            {
                return null;
            }
        }, ProcessCluster.ElectionBound, $"{member.Name}'s member id", cluster.Diagnostics).ConfigureAwait(false))!.Value;

    /// <summary>Removes <paramref name="member"/>, waits until it stops by itself (killed after 30 s) and drops it from the cluster's list.</summary>
    public static async Task RemoveAsync(ProcessCluster cluster, MemberProcess member)
    {
        var id = await IdOfAsync(cluster, member).ConfigureAwait(false);
        await CallAsync(cluster, $"remove {member.Name}", c => c.MemberRemoveAsync(new MemberRemoveRequest { ID = id }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync,
            doneAlready: "member not found").ConfigureAwait(false);
        // A removed member learns it from the log and stops by itself.
        if (await member.WaitForExitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false) is null) member.Kill();
        cluster.Drop(member);
    }

    /// <summary>Adds <paramref name="member"/> (made by <see cref="ProcessCluster.AddMember"/>) as a voter, before it starts.</summary>
    public static Task AddAsync(ProcessCluster cluster, MemberProcess member) =>
        CallAsync(cluster, $"add {member.Name}", c => c.MemberAddAsync(new MemberAddRequest { PeerURLs = { member.PeerUrl } }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync,
            doneAlready: "Peer URLs already exists");

    private static MemberProcess? RunningMember(ProcessCluster cluster) => cluster.Members.FirstOrDefault(m => m.IsRunning);

    private static Task CallAsync<T>(ProcessCluster cluster, string what, Func<RaftKv.Etcd.Api.Cluster.ClusterClient, Task<T>> call, string doneAlready) =>
        Poll.UntilAsync(async () =>
        {
            using var channel = RunningMember(cluster)?.OpenChannel();
            if (channel is null) return false;
            try
            {
                await call(new RaftKv.Etcd.Api.Cluster.ClusterClient(channel)).ConfigureAwait(false);
                return true;
            }
            catch (RpcException e)
            {
                return e.Status.Detail.Contains(doneAlready, StringComparison.Ordinal);
            }
        }, ProcessCluster.ElectionBound, what, cluster.Diagnostics);
}
