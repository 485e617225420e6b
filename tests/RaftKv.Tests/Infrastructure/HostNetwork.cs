using System.Globalization;

namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// Hosts on one switch, as separate machines on a LAN (issue 16): each host is a network namespace of its own with
/// one address (10.0.0.1, 10.0.0.2, ...) on a veth to a bridge, so a member per host binds etcd's default ports on its
/// address. The bridge lives in a namespace of its own, and the test's clients on a client host (10.0.0.100) reached
/// through <see cref="Clients"/>: nothing here touches the machine's own network, and two networks never meet.
/// </summary>
/// <remarks>
/// Faults act inside the hosts. A cut is a blackhole route on each side (so a host can lose its peers while the
/// client host still reaches it, as a leader isolated from its followers), and loss is an nft rule dropping a random
/// share of the packets a host sends. The kernel here lacks sch_netem, so there is no added delay: a pause (SIGSTOP)
/// is the robustness suite's slow peer. Removed on dispose, with everything still running inside.
/// </remarks>
internal sealed class HostNetwork : IAsyncDisposable
{
    /// <summary>The client host's address.</summary>
    public const string ClientAddress = "10.0.0.100";

    private const string LossTable = "raftkv_loss";

    private readonly NetworkNamespace _switch;
    private readonly NetworkNamespace _client;
    private readonly List<NetworkNamespace> _hosts;
    private readonly bool[] _lossy;
    private readonly HashSet<(int From, int To)> _cuts = [];

    private HostNetwork(NetworkNamespace @switch, NetworkNamespace client, List<NetworkNamespace> hosts, NamespaceSockets clients)
    {
        _switch = @switch;
        _client = client;
        _hosts = hosts;
        _lossy = new bool[hosts.Count];
        Clients = clients;
    }

    /// <summary>Sockets made on the client host: give <see cref="NamespaceSockets.Handler"/> to every client.</summary>
    public NamespaceSockets Clients { get; }

    /// <summary>The number of hosts.</summary>
    public int Count => _hosts.Count;

    /// <summary>Host <paramref name="host"/>'s address.</summary>
    public static string AddressOf(int host) => $"10.0.0.{(host + 1).ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The namespace of host <paramref name="host"/> (where its member runs).</summary>
    public string NamespaceOf(int host) => _hosts[host].Name;

    /// <summary>Makes the switch, <paramref name="hosts"/> hosts and the client host (root only; see <see cref="NetworkNamespace"/>).</summary>
    public static async Task<HostNetwork> CreateAsync(int hosts)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hosts);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hosts, 9);
        var made = new List<NetworkNamespace>();
        try
        {
            var sw = await NetworkNamespace.CreateAsync().ConfigureAwait(false);
            made.Add(sw);
            await NetworkNamespace.IpAsync("-n", sw.Name, "link", "add", "br0", "type", "bridge").ConfigureAwait(false);
            await NetworkNamespace.IpAsync("-n", sw.Name, "link", "set", "br0", "up").ConfigureAwait(false);
            async Task<NetworkNamespace> AttachAsync(string port, string address)
            {
                var host = await NetworkNamespace.CreateAsync().ConfigureAwait(false);
                made.Add(host);
                await NetworkNamespace.IpAsync("-n", sw.Name, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host.Name).ConfigureAwait(false);
                await NetworkNamespace.IpAsync("-n", sw.Name, "link", "set", port, "master", "br0").ConfigureAwait(false);
                await NetworkNamespace.IpAsync("-n", sw.Name, "link", "set", port, "up").ConfigureAwait(false);
                await NetworkNamespace.IpAsync("-n", host.Name, "addr", "add", $"{address}/24", "dev", "eth0").ConfigureAwait(false);
                await NetworkNamespace.IpAsync("-n", host.Name, "link", "set", "eth0", "up").ConfigureAwait(false);
                return host;
            }
            var members = new List<NetworkNamespace>();
            for (var i = 0; i < hosts; i++) members.Add(await AttachAsync($"h{i}", AddressOf(i)).ConfigureAwait(false));
            var client = await AttachAsync("client", ClientAddress).ConfigureAwait(false);
            return new HostNetwork(sw, client, members, new NamespaceSockets(client.Name));
        }
        catch
        {
            foreach (var n in made) await n.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Cuts hosts <paramref name="a"/> and <paramref name="b"/> apart, both ways; the client host still reaches both.</summary>
    public async Task CutAsync(int a, int b)
    {
        if (a == b) return;
        foreach (var (from, to) in new[] { (a, b), (b, a) })
        {
            if (!_cuts.Add((from, to))) continue;
            await NetworkNamespace.IpAsync("-n", _hosts[from].Name, "route", "add", "blackhole", $"{AddressOf(to)}/32").ConfigureAwait(false);
        }
    }

    /// <summary>Cuts every host of <paramref name="side"/> from every host not in it.</summary>
    public async Task PartitionAsync(IReadOnlyCollection<int> side)
    {
        ArgumentNullException.ThrowIfNull(side);
        foreach (var a in side)
        {
            for (var b = 0; b < Count; b++)
            {
                if (!side.Contains(b)) await CutAsync(a, b).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Drops <paramref name="percent"/> of the packets host <paramref name="host"/> sends, at random (nft; nftables).</summary>
    public async Task LoseAsync(int host, int percent)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        var rules = $"table inet {LossTable} {{\n chain out {{\n  type filter hook output priority 0; policy accept;\n  oifname \"eth0\" numgen random mod 100 < {percent.ToString(CultureInfo.InvariantCulture)} drop\n }}\n}}\n";
        await HealLossAsync(host).ConfigureAwait(false);
        var (code, output) = await ExternalTools.RunAsync("ip", ["netns", "exec", _hosts[host].Name, ExternalTools.Require("nft", "nftables"), "-f", "-"], TimeSpan.FromSeconds(10), stdin: rules).ConfigureAwait(false);
        if (code != 0) throw new InvalidOperationException($"nft in {_hosts[host].Name} failed ({code}): {output}");
        _lossy[host] = true;
    }

    /// <summary>Undoes every cut and every loss.</summary>
    public async Task HealAsync()
    {
        foreach (var (from, to) in _cuts)
            await NetworkNamespace.IpAsync("-n", _hosts[from].Name, "route", "del", "blackhole", $"{AddressOf(to)}/32").ConfigureAwait(false);
        _cuts.Clear();
        for (var i = 0; i < Count; i++) await HealLossAsync(i).ConfigureAwait(false);
    }

    private async Task HealLossAsync(int host)
    {
        if (!_lossy[host]) return;
        var (code, output) = await ExternalTools.RunAsync("ip", ["netns", "exec", _hosts[host].Name, ExternalTools.Require("nft", "nftables"), "delete", "table", "inet", LossTable], TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        if (code != 0) throw new InvalidOperationException($"nft delete in {_hosts[host].Name} failed ({code}): {output}");
        _lossy[host] = false;
    }

    public async ValueTask DisposeAsync()
    {
        Clients.Dispose();
        foreach (var host in _hosts) await host.DisposeAsync().ConfigureAwait(false);
        await _client.DisposeAsync().ConfigureAwait(false);
        await _switch.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// A fact that runs members on a <see cref="HostNetwork"/>: root (namespaces), iproute2's <c>ip</c> and nftables'
/// <c>nft</c> (packet loss); skipped naming what is missing on a developer's machine, failed in CI.
/// </summary>
public sealed class HostNetworkFactAttribute() : RequiresProgramFactAttribute(
[
    new Requirement("ip", "iproute2"),
    new Requirement("nft", "nftables"),
    Requirement.Condition(Environment.IsPrivilegedProcess, "not root: creating network namespaces needs root (CI runs as root)"),
]);
