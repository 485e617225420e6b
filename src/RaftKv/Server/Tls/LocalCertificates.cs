using System.Security.Cryptography.X509Certificates;

namespace RaftKv.Server.Tls;

/// <summary>
/// A local CA and the certificates signed by it for a cluster on this machine, as PEM files in one directory:
/// <c>ca.crt</c>, <c>server.crt/key</c> (client port), <c>peer.crt/key</c> (peer port, server and client), and
/// <c>client.crt/key</c> for etcdctl. Every leaf names localhost, 127.0.0.1 and ::1. Made by <c>raftkv cluster --tls</c>
/// and the tests; kept when present, so a restarted cluster keeps its CA.
/// </summary>
public sealed record LocalCertificates(string Directory)
{
    /// <summary>The CA's certificate: --trusted-ca-file, --peer-trusted-ca-file, etcdctl's --cacert.</summary>
    public string CaFile => Path.Combine(Directory, "ca.crt");
    public string CaKeyFile => Path.Combine(Directory, "ca.key");
    public string ServerCertFile => Path.Combine(Directory, "server.crt");
    public string ServerKeyFile => Path.Combine(Directory, "server.key");
    public string PeerCertFile => Path.Combine(Directory, "peer.crt");
    public string PeerKeyFile => Path.Combine(Directory, "peer.key");
    public string ClientCertFile => Path.Combine(Directory, "client.crt");
    public string ClientKeyFile => Path.Combine(Directory, "client.key");

    /// <summary>The certificates in <paramref name="directory"/>: read when all are there, else all made anew.</summary>
    public static LocalCertificates Ensure(string directory, string caName = "raftkv local CA")
    {
        var set = new LocalCertificates(Path.GetFullPath(directory));
        if (set.AllFiles.All(File.Exists)) return set;
        set.Write(caName);
        return set;
    }

    /// <summary>Makes a new CA and leaves, replacing any files present.</summary>
    public void Write(string caName)
    {
        System.IO.Directory.CreateDirectory(Directory);
        using var ca = CertificateFactory.CreateCa(caName);
        CertificateFactory.WritePem(ca, CaFile, CaKeyFile);
        WriteLeaf(ca, "raftkv server", ServerCertFile, ServerKeyFile);
        WriteLeaf(ca, "raftkv peer", PeerCertFile, PeerKeyFile);
        WriteLeaf(ca, "root", ClientCertFile, ClientKeyFile); // CN root: etcd's user for a client certificate, once auth is on
    }

    /// <summary>etcdctl's flags for these certificates.</summary>
    public string EtcdctlFlags => $"--cacert={CaFile} --cert={ClientCertFile} --key={ClientKeyFile}";

    private IEnumerable<string> AllFiles => [CaFile, CaKeyFile, ServerCertFile, ServerKeyFile, PeerCertFile, PeerKeyFile, ClientCertFile, ClientKeyFile];

    private static void WriteLeaf(X509Certificate2 ca, string name, string certFile, string keyFile)
    {
        using var leaf = CertificateFactory.CreateLoopbackLeaf(name, ca);
        CertificateFactory.WritePem(leaf, certFile, keyFile);
    }
}
