using System.CommandLine;
using RaftKv.Server.Limits;

namespace RaftKv.Cli;

/// <summary>
/// raftkv's flags for what clients may use of a member, beyond etcd's own limits (see <see cref="ClientLimits"/>,
/// whose defaults they carry).
/// </summary>
internal sealed class LimitFlags
{
    private readonly Option<long> _maxConnections = EnvOption.Int64("--max-connections",
        "Client and HTTP connections one member holds open at once; one more is closed unserved", ClientLimits.Default.MaxConnections, 1, 1_000_000);
    private readonly Option<long> _newConnectionsPerSecond = EnvOption.Int64("--max-new-connections-per-second",
        "New client and HTTP connections one member accepts a second (as many in a burst); beyond, closed unserved",
        ClientLimits.Default.NewConnectionsPerSecond, 1, 1_000_000);
    private readonly Option<long> _requestsPerSecond = EnvOption.Int64("--max-requests-per-second-per-connection",
        "Requests (calls, streams, gateway requests) one connection may make a second (as many in a burst); beyond, 'too many requests'",
        ClientLimits.Default.RequestsPerSecondPerConnection, 1, 100_000_000);
    private readonly Option<long> _maxLeases = EnvOption.Int64("--max-leases",
        "Leases the cluster may hold; a grant beyond is refused with 'too many leases'", ClientLimits.Default.MaxLeases, 1, 100_000_000);

    /// <summary>Adds the flags to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _maxConnections, _newConnectionsPerSecond, _requestsPerSecond, _maxLeases }) command.Options.Add(o);
    }

    /// <summary>The limits the flags give.</summary>
    public ClientLimits Parse(ParseResult parse) => new()
    {
        MaxConnections = (int)parse.GetValue(_maxConnections),
        NewConnectionsPerSecond = (int)parse.GetValue(_newConnectionsPerSecond),
        RequestsPerSecondPerConnection = (int)parse.GetValue(_requestsPerSecond),
        MaxLeases = parse.GetValue(_maxLeases),
    };
}
