using Google.Protobuf;
using RaftKv.Raft;

namespace RaftKv.Server.Cluster;

/// <summary>One member as the replicated member table holds it.</summary>
/// <param name="Id">Its Raft id.</param>
/// <param name="Name">Its name; empty until it has started and published itself.</param>
/// <param name="PeerUrls">Where its peers reach it.</param>
/// <param name="ClientUrls">Where clients reach it; empty until it has published itself.</param>
/// <param name="IsLearner">Whether it only learns the log (never votes or counts).</param>
public sealed record MemberInfo(ulong Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls, bool IsLearner)
{
    /// <summary>Whether it has started and published its name (etcd's IsStarted).</summary>
    public bool IsStarted => Name.Length > 0;

    /// <summary>Its first peer URL, where members reach it; null when it has none that parses.</summary>
    public Uri? FirstPeerUri => PeerUrls.Count > 0 && Uri.TryCreate(PeerUrls[0], UriKind.Absolute, out var url) ? url : null;

    /// <summary>The etcd message for this member.</summary>
    public RaftKv.Etcd.Api.Member ToProto() => new() { ID = Id, Name = Name, PeerURLs = { PeerUrls }, ClientURLs = { ClientUrls }, IsLearner = IsLearner };

    /// <inheritdoc />
    public bool Equals(MemberInfo? other) => other is not null && Id == other.Id && Name == other.Name && IsLearner == other.IsLearner
        && PeerUrls.SequenceEqual(other.PeerUrls) && ClientUrls.SequenceEqual(other.ClientUrls);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Id, Name, IsLearner);
}

/// <summary>
/// The cluster's members as the replicated state holds them: the result of every configuration change entry applied
/// so far, in log order, starting with the bootstrap entries at the head of the log. Immutable.
/// </summary>
/// <remarks>
/// <para><see cref="Apply"/> is a pure and total function of the table and the committed change: every member computes
/// the same table, and no input (a malformed context, oversize URLs, an unknown id) makes it throw. Whether a change
/// is sensible (duplicate peer URLs, too many learners) is checked by the proposer before proposing; what the log
/// holds is applied as it is, so that the table's voters and learners always mirror the Raft configuration.</para>
/// <para>Limits: fields are cut to <see cref="MaxUrls"/> URLs of <see cref="MaxFieldChars"/> characters; the removed
/// ids kept are the latest <see cref="MaxRemovedIds"/>; if a table would still not fit
/// <see cref="Kv.KvStore.ClusterRecordMaxBytes"/>, the member being changed keeps its id and role only.</para>
/// </remarks>
public sealed class MemberTable
{
    /// <summary>Most URLs kept per list.</summary>
    public const int MaxUrls = 8;

    /// <summary>Most characters kept of a name or URL.</summary>
    public const int MaxFieldChars = 256;

    /// <summary>Most removed ids remembered (oldest forgotten first).</summary>
    public const int MaxRemovedIds = 1024;

    private readonly MemberInfo[] _members; // sorted by id
    private readonly ulong[] _removed; // oldest first

    private MemberTable(MemberInfo[] members, ulong[] removed)
    {
        _members = members;
        _removed = removed;
    }

    /// <summary>No members: the state of a store that has not applied its bootstrap entries.</summary>
    public static MemberTable Empty { get; } = new([], []);

    /// <summary>Members, sorted by id.</summary>
    public IReadOnlyList<MemberInfo> Members => _members;

    /// <summary>Ids removed from the cluster, oldest first.</summary>
    public IReadOnlyList<ulong> Removed => _removed;

    /// <summary>True before any configuration change was applied.</summary>
    public bool IsEmpty => _members.Length == 0 && _removed.Length == 0;

    /// <summary>Voting members.</summary>
    public IEnumerable<MemberInfo> Voters => _members.Where(m => !m.IsLearner);

    /// <summary>Learners.</summary>
    public IEnumerable<MemberInfo> Learners => _members.Where(m => m.IsLearner);

    /// <summary>The member with this id, or null.</summary>
    public MemberInfo? Find(ulong id)
    {
        var at = Array.BinarySearch(_members, new MemberInfo(id, "", [], [], false), IdOrder.Instance);
        return at >= 0 ? _members[at] : null;
    }

    /// <summary>The member with this name, or null (names are unique only once published; the first wins).</summary>
    public MemberInfo? FindByName(string name) => name.Length == 0 ? null : _members.FirstOrDefault(m => m.Name == name);

    /// <summary>The member that has <paramref name="peerUrl"/> among its peer URLs (compared as etcd does, by text), or null.</summary>
    public MemberInfo? FindByPeerUrl(string peerUrl) => _members.FirstOrDefault(m => m.PeerUrls.Contains(peerUrl, StringComparer.Ordinal));

    /// <summary>Whether <paramref name="id"/> was removed from the cluster (within the remembered window).</summary>
    public bool WasRemoved(ulong id) => Array.IndexOf(_removed, id) >= 0;

    /// <summary>Reads a record <see cref="Encode"/> wrote; an empty record is the empty table.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a member table: the state is corrupt.</exception>
    public static MemberTable Decode(ReadOnlySpan<byte> record)
    {
        if (record.IsEmpty) return Empty;
        ClusterRecord parsed;
        try
        {
            parsed = ClusterRecord.Parser.ParseFrom(record);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"the stored member table ({record.Length} bytes) does not parse: {e.Message}", e);
        }
        var members = parsed.Members.Select(FromProto).OrderBy(m => m.Id).ToArray();
        for (var i = 1; i < members.Length; i++)
        {
            if (members[i].Id == members[i - 1].Id) throw new InvalidDataException($"the stored member table lists member {members[i].Id:x16} twice");
        }
        return new MemberTable(members, [.. parsed.Removed]);
    }

    /// <summary>The record stored in the KV store.</summary>
    public byte[] Encode()
    {
        var record = new ClusterRecord();
        foreach (var m in _members) record.Members.Add(m.ToProto());
        record.Removed.AddRange(_removed);
        return record.ToByteArray();
    }

    /// <summary>
    /// The table after the committed configuration change <paramref name="change"/> (see the type's remarks: pure,
    /// total, and mirroring the Raft configuration).
    /// </summary>
    public MemberTable Apply(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var context = ParseContext(change.Context.Span);
        var members = _members.ToDictionary(m => m.Id);
        var removed = new List<ulong>(_removed);
        var touched = new List<ulong>();
        foreach (var single in change.Changes)
        {
            var id = single.NodeId;
            touched.Add(id);
            var described = context?.Member is { } cm && cm.ID == id ? cm : null;
            members.TryGetValue(id, out var current);
            switch (single.Type)
            {
                case ConfChangeType.AddVoter:
                case ConfChangeType.AddLearner:
                    members[id] = new MemberInfo(id, Cut(described?.Name ?? current?.Name ?? ""),
                        described is not null ? Urls(described.PeerURLs) : current?.PeerUrls ?? [],
                        described is not null ? Urls(described.ClientURLs) : current?.ClientUrls ?? [],
                        IsLearner: single.Type == ConfChangeType.AddLearner);
                    break;
                case ConfChangeType.PromoteLearner:
                    members[id] = (current ?? new MemberInfo(id, "", [], [], false)) with { IsLearner = false };
                    break;
                case ConfChangeType.Remove:
                    members.Remove(id);
                    removed.Remove(id);
                    removed.Add(id);
                    break;
                case ConfChangeType.UpdateNode:
                    if (current is null || described is null) break;
                    if (context!.SetPeerUrls) current = current with { PeerUrls = Urls(described.PeerURLs) };
                    if (context.SetAttributes) current = current with { Name = Cut(described.Name), ClientUrls = Urls(described.ClientURLs) };
                    members[id] = current;
                    break;
            }
        }
        if (removed.Count > MaxRemovedIds) removed.RemoveRange(0, removed.Count - MaxRemovedIds);
        var next = new MemberTable([.. members.Values.OrderBy(m => m.Id)], [.. removed]);
        if (next.Encode().Length <= Kv.KvStore.ClusterRecordMaxBytes) return next;
        // Too large to store: the changed members keep only their ids and roles, then if need be every member does.
        var stripped = new MemberTable([.. next._members.Select(m => touched.Contains(m.Id) ? Bare(m) : m)], next._removed);
        return stripped.Encode().Length <= Kv.KvStore.ClusterRecordMaxBytes ? stripped : new MemberTable([.. next._members.Select(Bare)], next._removed);
    }

    /// <summary>Reads a configuration change's context; null when it has none or it is not a <see cref="MemberChange"/>.</summary>
    public static MemberChange? ParseContext(ReadOnlySpan<byte> context)
    {
        if (context.IsEmpty) return null;
        try
        {
            return MemberChange.Parser.ParseFrom(context);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    private static MemberInfo Bare(MemberInfo m) => new(m.Id, "", [], [], m.IsLearner);

    private static MemberInfo FromProto(RaftKv.Etcd.Api.Member m) => new(m.ID, m.Name, [.. m.PeerURLs], [.. m.ClientURLs], m.IsLearner);

    private static string Cut(string text) => text.Length <= MaxFieldChars ? text : text[..MaxFieldChars];

    private static string[] Urls(IEnumerable<string> urls) => [.. urls.Take(MaxUrls).Select(Cut)];

    private sealed class IdOrder : IComparer<MemberInfo>
    {
        public static readonly IdOrder Instance = new();

        public int Compare(MemberInfo? x, MemberInfo? y) => x!.Id.CompareTo(y!.Id);
    }
}
