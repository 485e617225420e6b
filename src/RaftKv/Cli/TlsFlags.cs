using System.CommandLine;
using RaftKv.Server.Tls;

namespace RaftKv.Cli;

/// <summary>
/// etcd's TLS flags of <c>raftkv serve</c>, client and peer side, and --max-concurrent-streams. TLS is chosen per URL
/// by its scheme (https://), as in etcd; the flags give the certificates for those URLs.
/// </summary>
internal sealed class TlsFlags
{
    private readonly Option<string> _certFile = EnvOption.String("--cert-file", "Client server TLS certificate file (PEM)", null);
    private readonly Option<string> _keyFile = EnvOption.String("--key-file", "Client server TLS key file (PEM)", null);
    private readonly Option<string> _trustedCaFile = EnvOption.String("--trusted-ca-file", "Client server TLS trusted CA certificate file (PEM)", null);
    private readonly Option<bool> _clientCertAuth = EnvOption.Flag("--client-cert-auth", "Require client certificates signed by --trusted-ca-file");
    private readonly Option<bool> _autoTls = EnvOption.Flag("--auto-tls", "Client TLS with a self-signed certificate made at start");
    private readonly Option<string> _peerCertFile = EnvOption.String("--peer-cert-file", "Peer TLS certificate file (PEM), server and client", null);
    private readonly Option<string> _peerKeyFile = EnvOption.String("--peer-key-file", "Peer TLS key file (PEM)", null);
    private readonly Option<string> _peerTrustedCaFile = EnvOption.String("--peer-trusted-ca-file", "Peer TLS trusted CA file (PEM)", null);
    private readonly Option<bool> _peerClientCertAuth = EnvOption.Flag("--peer-client-cert-auth", "Require peers' certificates signed by --peer-trusted-ca-file");
    private readonly Option<string> _peerAllowedCn = EnvOption.String("--peer-cert-allowed-cn",
        "The common name a peer's client certificate must have (with --peer-client-cert-auth)", null);
    private readonly Option<bool> _peerAutoTls = EnvOption.Flag("--peer-auto-tls", "Peer TLS with a self-signed certificate made at start (peers' certificates not checked)");
    private readonly Option<string> _cipherSuites = EnvOption.String("--cipher-suites", "Comma-separated TLS 1.2 cipher suites, etcd's names (default: OpenSSL's)", null);
    private readonly Option<string> _minVersion = EnvOption.String("--tls-min-version", "Lowest TLS version: TLS1.2 or TLS1.3", "TLS1.2");
    private readonly Option<string> _maxVersion = EnvOption.String("--tls-max-version", "Highest TLS version: TLS1.2 or TLS1.3", "TLS1.3");
    private readonly Option<long> _maxConcurrentStreams = EnvOption.Int64("--max-concurrent-streams",
        "HTTP/2 streams one connection may have open at once, on every listener (etcd's flag; raftkv's default is Kestrel's 100)", 100, 1, int.MaxValue);

    /// <summary>Adds the flags to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _certFile, _keyFile, _trustedCaFile, _clientCertAuth, _autoTls, _peerCertFile, _peerKeyFile, _peerTrustedCaFile,
                     _peerClientCertAuth, _peerAllowedCn, _peerAutoTls, _cipherSuites, _minVersion, _maxVersion, _maxConcurrentStreams })
        {
            command.Options.Add(o);
        }
    }

    /// <summary>HTTP/2 streams per connection.</summary>
    public int MaxConcurrentStreams(ParseResult parse) => (int)parse.GetValue(_maxConcurrentStreams);

    /// <summary>
    /// The client and peer TLS the flags describe for these URLs; throws <see cref="FormatException"/> naming the flag and
    /// file. <paramref name="clientUrls"/> are the client and HTTP listen URLs and the advertised client URLs.
    /// </summary>
    public (TlsEndpoint? Client, TlsEndpoint? Peer) Parse(ParseResult parse, IEnumerable<Uri> clientUrls, IEnumerable<Uri> peerUrls)
    {
        var policy = TlsPolicy.Parse(parse.GetValue(_minVersion), parse.GetValue(_maxVersion), parse.GetValue(_cipherSuites));
        var client = TlsEndpoint.FromFlags("", parse.GetValue(_certFile), parse.GetValue(_keyFile), parse.GetValue(_trustedCaFile),
            parse.GetValue(_clientCertAuth), parse.GetValue(_autoTls), policy, clientUrls.Any(IsHttps));
        var peer = TlsEndpoint.FromFlags("peer-", parse.GetValue(_peerCertFile), parse.GetValue(_peerKeyFile), parse.GetValue(_peerTrustedCaFile),
            parse.GetValue(_peerClientCertAuth), parse.GetValue(_peerAutoTls), policy, peerUrls.Any(IsHttps));
        if (parse.GetValue(_peerAllowedCn) is { Length: > 0 } allowedCn)
        {
            if (peer is not { ClientCertAuth: true }) throw new FormatException("--peer-cert-allowed-cn needs --peer-client-cert-auth (and https:// peer URLs)");
            peer = peer with { AllowedCn = allowedCn };
        }
        return (client, peer);
    }

    private static bool IsHttps(Uri url) => url.Scheme == Uri.UriSchemeHttps;
}
