namespace RaftKv.Server;

/// <summary>One member as the tooling (status, dashboard, metrics, fault injection) shows and reaches it.</summary>
/// <param name="Id">Its Raft id.</param>
/// <param name="Name">Its name (<see cref="NodeContext.NameOf"/>: published, else from --initial-cluster, else its hex id).</param>
/// <param name="PeerUrl">Its first peer URL; null when the table holds none (it cannot be reached).</param>
/// <param name="PeerUrls">All its peer URLs.</param>
/// <param name="ClientUrls">Its client URLs (empty until it published them).</param>
/// <param name="IsLearner">Whether it only learns the log.</param>
/// <param name="IsStarted">Whether it has started and published its name.</param>
public sealed record LiveMember(ulong Id, string Name, Uri? PeerUrl, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls,
    bool IsLearner, bool IsStarted)
{
    /// <summary>As a <see cref="Member"/> (for peer calls); null when it has no peer URL.</summary>
    public Member? Reachable => PeerUrl is null ? null : new Member(Id, Name, PeerUrl);
}

/// <summary>
/// The members now: the replicated member table (<see cref="NodeContext.Members"/>), so that a member added later
/// appears and a removed one disappears; the static --initial-cluster list only while the table is still empty
/// (before the bootstrap entries are applied). Ordered as --initial-cluster lists them, then by name.
/// </summary>
public static class LiveMembers
{
    /// <summary>The members as this member knows them now.</summary>
    public static IReadOnlyList<LiveMember> Of(NodeContext node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var initial = node.Settings.Membership.Members;
        var table = node.Members;
        if (table.IsEmpty)
        {
            return initial.Select(m => new LiveMember(m.Id, m.Name, m.PeerUrl, [m.PeerUrl.GetLeftPart(UriPartial.Authority)], [], false, false)).ToArray();
        }
        return table.Members
            .Select(m => new LiveMember(m.Id, node.NameOf(m.Id), m.FirstPeerUri, m.PeerUrls, m.ClientUrls, m.IsLearner, m.IsStarted))
            .OrderBy(m => Position(initial, m.Id)).ThenBy(m => m.Name, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The member named <paramref name="name"/> (or with that hex id), or null.</summary>
    public static LiveMember? Find(NodeContext node, string name)
    {
        var members = Of(node);
        return members.FirstOrDefault(m => m.Name == name) ?? members.FirstOrDefault(m => StatusReply.Hex(m.Id) == name);
    }

    /// <summary>The member with this id, or null.</summary>
    public static LiveMember? Find(NodeContext node, ulong id) => Of(node).FirstOrDefault(m => m.Id == id);

    /// <summary>The other members that can be reached (have a peer URL).</summary>
    public static Member[] Peers(NodeContext node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return Of(node).Where(m => m.Id != node.Settings.Self.Id).Select(m => m.Reachable).OfType<Member>().ToArray();
    }

    private static int Position(IReadOnlyList<Member> initial, ulong id)
    {
        for (var i = 0; i < initial.Count; i++)
        {
            if (initial[i].Id == id) return i;
        }
        return int.MaxValue;
    }
}
