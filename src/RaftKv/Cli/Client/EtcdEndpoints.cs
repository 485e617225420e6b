using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;

namespace RaftKv.Cli.Client;

/// <summary>No endpoint answered a request; the message names each endpoint and why.</summary>
internal sealed class NoEndpointException(string message) : Exception(message);

/// <summary>
/// The endpoints a client command talks to (etcd v3 gRPC over h2c): one channel each, tried in order; an endpoint
/// that is down, times out or has no leader is skipped for the next.
/// </summary>
internal sealed class EtcdEndpoints : IDisposable
{
    private readonly Dictionary<Uri, GrpcChannel> _channels = [];
    private readonly TimeSpan _dialTimeout;

    private EtcdEndpoints(IReadOnlyList<Uri> endpoints, TimeSpan dialTimeout, TimeSpan commandTimeout)
    {
        All = endpoints;
        _dialTimeout = dialTimeout;
        CommandTimeout = commandTimeout;
    }

    public IReadOnlyList<Uri> All { get; }

    public TimeSpan CommandTimeout { get; }

    /// <summary>Parses <c>host:port,http://host:port,...</c>.</summary>
    /// <exception cref="FormatException">An endpoint is not host:port or http://host:port.</exception>
    public static EtcdEndpoints Parse(string text, TimeSpan dialTimeout, TimeSpan commandTimeout)
    {
        var endpoints = new List<Uri>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var withScheme = part.Contains("://", StringComparison.Ordinal) ? part : "http://" + part;
            if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme != "http" || uri.IsDefaultPort && !part.Contains(':', StringComparison.Ordinal))
                throw new FormatException($"--endpoints: '{part}' is not host:port or http://host:port (TLS is not supported)");
            endpoints.Add(new Uri(uri.GetLeftPart(UriPartial.Authority)));
        }
        if (endpoints.Count == 0) throw new FormatException("--endpoints is empty");
        return new EtcdEndpoints(endpoints, dialTimeout, commandTimeout);
    }

    /// <summary>Short form of an endpoint for tables: host:port.</summary>
    public static string Show(Uri endpoint) => endpoint.Authority;

    public GrpcChannel Channel(Uri endpoint)
    {
        if (!_channels.TryGetValue(endpoint, out var channel))
        {
            channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { ConnectTimeout = _dialTimeout, EnableMultipleHttp2Connections = true },
                MaxReceiveMessageSize = 64 * 1024 * 1024,
            });
            _channels[endpoint] = channel;
        }
        return channel;
    }

    /// <summary>Call options with this command's deadline.</summary>
    public CallOptions Options(CancellationToken cancellationToken) => new(deadline: DateTime.UtcNow + CommandTimeout, cancellationToken: cancellationToken);

    /// <summary>Runs <paramref name="call"/> at the first endpoint that answers it.</summary>
    /// <exception cref="NoEndpointException">Every endpoint was down, timed out or had no leader.</exception>
    /// <exception cref="RpcException">An endpoint answered with an error that another endpoint would give too.</exception>
    public async Task<(T Result, Uri Endpoint)> FirstAsync<T>(Func<GrpcChannel, CallOptions, Task<T>> call, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        foreach (var endpoint in All)
        {
            try
            {
                return (await call(Channel(endpoint), Options(cancellationToken)).ConfigureAwait(false), endpoint);
            }
            catch (RpcException e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                errors.Add($"{Show(endpoint)} ({Describe(e)})");
            }
        }
        throw new NoEndpointException($"no endpoint answered: {string.Join(", ", errors)}");
    }

    /// <summary>Errors after which another endpoint may do better: down, slow, or without a leader.</summary>
    public static bool IsTransient(RpcException e) => e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal;

    /// <summary>A short reason for a failed call.</summary>
    public static string Describe(RpcException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        for (Exception? inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException s) return s.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : s.Message;
        }
        if (e.StatusCode == StatusCode.DeadlineExceeded) return "timed out";
        if (e.StatusCode == StatusCode.Unimplemented) return $"the server does not support this call ({e.Status.Detail})";
        return string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail;
    }

    public void Dispose()
    {
        foreach (var c in _channels.Values) c.Dispose();
        _channels.Clear();
    }
}
