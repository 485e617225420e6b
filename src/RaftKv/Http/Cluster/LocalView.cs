using RaftKv.Http.Faults;
using RaftKv.Http.Metrics;
using RaftKv.Http.Observe;
using RaftKv.Server;

namespace RaftKv.Http.Cluster;

/// <summary>Builds this member's <see cref="MemberView"/> from its node, observer, partition state and prober.</summary>
public sealed class LocalView(NodeContext node, NodeObserver observer, PartitionState partition, PeerProber prober)
{
    /// <summary>Log tail entries in a view.</summary>
    public const int LogTailShown = 16;

    private readonly IReadOnlyList<string> _httpUrls = node.Settings.ListenHttpUrls.Select(u => Reachable(u, node.Settings.AdvertisePeerUrl)).ToArray();
    private readonly IReadOnlyList<string> _clientUrls = node.Settings.AdvertiseClientUrls.Select(u => u.GetLeftPart(UriPartial.Authority)).ToArray();
    private readonly LaunchCommand? _launch = node.Settings.AllowFaultInjection ? SelfProcess.Launch() : null;

    /// <summary>The node.</summary>
    public NodeContext Node => node;

    /// <summary>This member's HTTP URLs as others can use them.</summary>
    public IReadOnlyList<string> HttpUrls => _httpUrls;

    /// <summary>The view now.</summary>
    public MemberView Build()
    {
        var settings = node.Settings;
        return new MemberView
        {
            Name = settings.Name,
            Id = StatusReply.Hex(settings.Self.Id),
            Status = node.Status is { } s ? StatusReply.From(s, node) : null,
            HttpUrls = _httpUrls,
            ClientUrls = _clientUrls,
            PeerUrl = settings.Self.PeerUrl.GetLeftPart(UriPartial.Authority),
            Pid = SelfProcess.Pid,
            FaultInjection = settings.AllowFaultInjection,
            Partitioned = partition.SelfIsolated,
            Launch = _launch,
            Revision = node.Machine.Store.Revision,
            WritesPerSecond = Math.Round(observer.WritesPerSecond, 1),
            WritesHistory = observer.WritesHistory(),
            WriteLatency = observer.WriteLatency(),
            Timeline = observer.Timeline(),
            LogTail = observer.LogTail(LogTailShown),
            PeerRttMs = prober.LastRoundTripMs,
            Watch = ServicesView.Watch(node),
            Leases = ServicesView.Leases(node),
            Concurrency = ServicesView.Concurrency(node),
            Time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
    }

    /// <summary>A listen URL as a browser elsewhere could use it: a wildcard host becomes the advertised peer host.</summary>
    private static string Reachable(Uri listen, Uri advertisedPeer)
    {
        var host = listen.Host is "0.0.0.0" or "*" or "[::]" or "::" ? advertisedPeer.Host : listen.Host;
        return new UriBuilder(listen.Scheme, host, listen.Port).Uri.GetLeftPart(UriPartial.Authority);
    }
}
