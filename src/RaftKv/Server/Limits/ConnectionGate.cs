using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace RaftKv.Server.Limits;

/// <summary>
/// Admits client and HTTP connections within <see cref="ClientLimits.MaxConnections"/> open at once and
/// <see cref="ClientLimits.NewConnectionsPerSecond"/>; any other is closed before its TLS handshake or first byte is
/// read, so a flood of connections costs the member an accept and a close each, and the clients already connected
/// keep being served. Each admitted connection gets its <see cref="RequestBudget"/>. The peer port is not gated (its
/// clients are the members, and refusing them would break the cluster).
/// </summary>
public sealed partial class ConnectionGate
{
    private readonly ClientLimits _limits;
    private readonly TokenBucket _newConnections;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogThrottle _refusalLog = new();
    private int _open;
    private long _refused;
    private long _requestsRefused;

    /// <param name="limits">The limits.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where refusals are reported, at most one line a second.</param>
    public ConnectionGate(ClientLimits limits, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _limits = limits;
        _time = time;
        _logger = logger;
        _newConnections = new TokenBucket(limits.NewConnectionsPerSecond, limits.NewConnectionsPerSecond, time);
    }

    /// <summary>Connections open now through this gate.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections closed unserved so far.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Requests refused so far, all connections together, for going over their connection's rate.</summary>
    public long RequestsRefused => Interlocked.Read(ref _requestsRefused);

    /// <summary>Counts one request refused by a connection's <see cref="RequestBudget"/>.</summary>
    public void CountRefusedRequest() => Interlocked.Increment(ref _requestsRefused);

    /// <summary>Puts the gate in front of everything else on <paramref name="listen"/> (TLS, protocol sniffing).</summary>
    public void Use(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Use(next => async connection =>
        {
            if (!TryAdmit(out var reason))
            {
                Interlocked.Increment(ref _refused);
                MaybeLogRefusals(reason);
                connection.Abort(new ConnectionAbortedException(reason));
                return;
            }
            try
            {
                connection.Features.Set(new RequestBudget(new TokenBucket(_limits.RequestsPerSecondPerConnection, _limits.RequestsPerSecondPerConnection, _time), this));
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _open);
            }
        });
    }

    private bool TryAdmit(out string reason)
    {
        if (Interlocked.Increment(ref _open) > _limits.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            reason = $"{_limits.MaxConnections} connections are open (--max-connections)";
            return false;
        }
        if (!_newConnections.TryTake())
        {
            Interlocked.Decrement(ref _open);
            reason = $"more than {_limits.NewConnectionsPerSecond} new connections a second (--max-new-connections-per-second)";
            return false;
        }
        reason = "";
        return true;
    }

    // One line a second at most, however fast connections are refused.
    private void MaybeLogRefusals(string reason)
    {
        if (_refusalLog.TryLog(out var unlogged)) LogRefused(_logger, unlogged + 1, reason);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "refused {Count} client connection(s) since the last line: {Reason}")]
    private static partial void LogRefused(ILogger logger, long count, string reason);
}
