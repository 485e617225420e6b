using System.Net.Sockets;

namespace RaftKv.Server.Tls;

/// <summary>
/// The JSON gateway's private way to the member's own gRPC services: a Unix domain socket, plaintext HTTP/2, in a
/// directory only this user can enter (mode 700, made by <see cref="Directory.CreateTempSubdirectory"/>). The gateway
/// cannot call a TLS client port as etcd's does: with --client-cert-auth it would need a client certificate of its
/// own; and over a plaintext one all its callers' calls would share one connection's request budget
/// (Limits.ConnectionGate). A socket keeps the loopback hop out of TCP and off any port another local user could
/// reach; the gateway's callers were already checked (TLS, their own connection's budget) on the client port.
/// </summary>
public sealed class GatewaySocket : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("raftkv-gw-");

    /// <summary>The socket's path, for Kestrel's ListenUnixSocket.</summary>
    public string Path => System.IO.Path.Combine(_directory.FullName, "grpc.sock");

    /// <summary>The gateway's HTTP handler: every connection goes to the socket, whatever the request's address.</summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // a socket still open at exit; the temp directory is cleaned by the system
        }
    }
}
