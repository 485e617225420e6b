using System.CommandLine;
using RaftKv.Server.Tls;

namespace RaftKv.Cli;

/// <summary>
/// <c>raftkv certs --dir D</c>: writes the local CA and the server, peer and client certificates that
/// <c>raftkv cluster --tls</c> uses (made with .NET's CertificateRequest, no openssl), and prints their paths and
/// etcdctl's flags. Kept when all are present, unless --force.
/// </summary>
internal static class CertsCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "Directory for ca.crt, server/peer/client .crt and .key", Required = true };
        var force = new Option<bool>("--force") { Description = "Make a new CA and certificates even when the files exist" };
        var command = new Command("certs", "Make a local CA and server, peer and client certificates (PEM) for TLS tests and local clusters") { dir, force };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(dir)!;
            var certs = parse.GetValue(force) ? new LocalCertificates(Path.GetFullPath(path)) : LocalCertificates.Ensure(path);
            if (parse.GetValue(force)) certs.Write("raftkv local CA");
            Console.WriteLine($"ca:     {certs.CaFile}");
            Console.WriteLine($"server: {certs.ServerCertFile} {certs.ServerKeyFile}");
            Console.WriteLine($"peer:   {certs.PeerCertFile} {certs.PeerKeyFile}");
            Console.WriteLine($"client: {certs.ClientCertFile} {certs.ClientKeyFile}");
            Console.WriteLine($"etcdctl {certs.EtcdctlFlags}");
            return 0;
        });
        return command;
    }
}
