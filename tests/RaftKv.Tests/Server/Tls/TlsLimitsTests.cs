using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using RaftKv.Server.Tls;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Server.Tls;

/// <summary>The client port's limits hold over TLS as over plaintext: --max-concurrent-streams and --max-request-bytes.</summary>
public sealed class TlsLimitsTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _certDir = Directory.CreateTempSubdirectory("raftkv-tls-limits-").FullName;

    public void Dispose() => Directory.Delete(_certDir, recursive: true);

    [EtcdctlFact]
    public async Task MaxConcurrentStreams_IsAdvertisedOverTls_AndTooLargeRequestsAreRefused()
    {
        var certs = LocalCertificates.Ensure(_certDir);
        await using var cluster = ProcessCluster.Create(1, schemes: ("https", "http"));
        var member = cluster.Members[0];
        member.ExtraArgs = [.. member.ExtraArgs, "--cert-file", certs.ServerCertFile, "--key-file", certs.ServerKeyFile,
            "--max-concurrent-streams", "7", "--max-request-bytes", "4096"];
        member.Start();
        await cluster.WaitForLeaderAsync();

        // The server's first SETTINGS frame on an h2 TLS connection carries SETTINGS_MAX_CONCURRENT_STREAMS (0x3).
        Assert.Equal(7u, await ReadMaxConcurrentStreamsAsync(member.ClientPort));

        var (code, output) = await ExternalTools.RunAsync("etcdctl",
            ["--endpoints=" + member.ClientUrl, $"--cacert={certs.CaFile}", "--command-timeout=5s", "put", "big", new string('x', 8192)], Bound, null,
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        Assert.True(code != 0 && output.Contains("request is too large", StringComparison.Ordinal), $"an 8 KiB put over TLS with a 4 KiB limit ({code}):\n{output}");
    }

    private static async Task<uint?> ReadMaxConcurrentStreamsAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            RemoteCertificateValidationCallback = (_, _, _, _) => true, // this test is about the frames, not the chain
        });
        Assert.Equal(SslApplicationProtocol.Http2, tls.NegotiatedApplicationProtocol);
        await tls.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        await tls.WriteAsync(new byte[] { 0, 0, 0, 0x4, 0, 0, 0, 0, 0 }); // an empty SETTINGS frame
        var header = new byte[9];
        await tls.ReadExactlyAsync(header);
        Assert.Equal(0x4, header[3]); // the server speaks first with SETTINGS
        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        var payload = new byte[length];
        await tls.ReadExactlyAsync(payload);
        for (var i = 0; i + 6 <= length; i += 6)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i)) == 0x3) return BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 2));
        }
        return null;
    }
}
