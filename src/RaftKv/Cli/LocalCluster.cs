using System.Globalization;

namespace RaftKv.Cli;

/// <summary>The fixed layout of <c>raftkv cluster</c>: etcd's local-cluster ports and the lab's HTTP ports.</summary>
public static class LocalCluster
{
    public const int MaxNodes = 7;

    /// <summary>A, B, C, ...</summary>
    public static string Name(int index) => ((char)('A' + index)).ToString();

    /// <summary>2379 for A, then 22379, 32379, 42379, ... (etcd's Procfile layout).</summary>
    public static int ClientPort(int index) => index == 0 ? 2379 : (index + 1) * 10000 + 2379;

    /// <summary>The client port + 1.</summary>
    public static int PeerPort(int index) => ClientPort(index) + 1;

    /// <summary>8000, 8001, 8002, ... as the original lab's nodes.</summary>
    public static int HttpPort(int index) => 8000 + index;

    public static string ClientUrl(int index, bool tls = false) => $"{Scheme(tls)}://127.0.0.1:{ClientPort(index).ToString(CultureInfo.InvariantCulture)}";

    public static string PeerUrl(int index, bool tls = false) => $"{Scheme(tls)}://127.0.0.1:{PeerPort(index).ToString(CultureInfo.InvariantCulture)}";

    private static string Scheme(bool tls) => tls ? "https" : "http";

    public static string HttpUrl(int index) => $"http://127.0.0.1:{HttpPort(index).ToString(CultureInfo.InvariantCulture)}";

    public static string InitialCluster(int nodes, bool tls = false) =>
        string.Join(",", Enumerable.Range(0, nodes).Select(i => $"{Name(i)}={PeerUrl(i, tls)}"));

    /// <summary>All client endpoints, for --endpoints of client tools.</summary>
    public static string ClientEndpoints(int nodes, bool tls = false) => string.Join(",", Enumerable.Range(0, nodes).Select(i => ClientUrl(i, tls)));
}
