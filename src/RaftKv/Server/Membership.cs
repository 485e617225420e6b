using System.Security.Cryptography;
using System.Text;

namespace RaftKv.Server;

/// <summary>One member of the initial cluster.</summary>
/// <param name="Id">Raft id: a hash of the name, peer URL and cluster token (never 0).</param>
/// <param name="Name">The member's name (--name).</param>
/// <param name="PeerUrl">Where its peers reach it.</param>
public sealed record Member(ulong Id, string Name, Uri PeerUrl);

/// <summary>The initial cluster as given by <c>--initial-cluster name=peerURL,...</c>, with stable ids.</summary>
public sealed class Membership
{
    private Membership(IReadOnlyList<Member> members, ulong clusterId)
    {
        Members = members;
        ClusterId = clusterId;
    }

    /// <summary>A membership learned from the cluster itself (a member joining with --initial-cluster-state existing).</summary>
    public static Membership Of(IReadOnlyList<Member> members, ulong clusterId) => new(members, clusterId);

    /// <summary>Members in the order given.</summary>
    public IReadOnlyList<Member> Members { get; }

    /// <summary>Identifies the cluster: a hash of its member ids and token.</summary>
    public ulong ClusterId { get; }

    /// <summary>The member with this name, or null.</summary>
    public Member? Find(string name) => Members.FirstOrDefault(m => m.Name == name);

    /// <summary>The member with this id, or null.</summary>
    public Member? Find(ulong id) => Members.FirstOrDefault(m => m.Id == id);

    /// <summary>Name of a member id (its hex id when unknown).</summary>
    public string NameOf(ulong id) => Find(id)?.Name ?? id.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Parses <c>A=http://127.0.0.1:2380,B=http://127.0.0.1:22380</c>.</summary>
    /// <exception cref="FormatException">With a message naming the bad part.</exception>
    public static Membership Parse(string initialCluster, string clusterToken)
    {
        ArgumentNullException.ThrowIfNull(initialCluster);
        var members = new List<Member>();
        foreach (var part in initialCluster.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == part.Length - 1) throw new FormatException($"--initial-cluster: '{part}' is not name=peerURL");
            var name = part[..eq];
            var url = ParseUrl(part[(eq + 1)..], "--initial-cluster");
            if (members.Any(m => m.Name == name)) throw new FormatException($"--initial-cluster: member name '{name}' appears twice");
            if (members.Any(m => m.PeerUrl == url)) throw new FormatException($"--initial-cluster: peer URL {url} appears twice");
            members.Add(new Member(MemberId(name, url, clusterToken), name, url));
        }
        if (members.Count == 0) throw new FormatException("--initial-cluster is empty");
        if (members.Count > 7) throw new FormatException($"--initial-cluster has {members.Count} members; at most 7 are supported");
        var clusterHash = new StringBuilder(clusterToken);
        foreach (var id in members.Select(m => m.Id).Order()) clusterHash.Append('|').Append(id);
        return new Membership(members, Hash64(clusterHash.ToString()));
    }

    /// <summary>Parses an http:// or https:// URL with host and port.</summary>
    public static Uri ParseUrl(string text, string flag)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != "http" && url.Scheme != "https"))
            throw new FormatException($"{flag}: '{text}' is not a URL like http://127.0.0.1:2380");
        if (url.IsDefaultPort && !text.Contains(":" + url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
            throw new FormatException($"{flag}: '{text}' needs an explicit port");
        return url;
    }

    private static ulong MemberId(string name, Uri peerUrl, string token) => Hash64($"{name}|{peerUrl.GetLeftPart(UriPartial.Authority)}|{token}");

    private static ulong Hash64(string text)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        var id = BitConverter.ToUInt64(hash, 0);
        return id == 0 ? 1 : id;
    }
}
