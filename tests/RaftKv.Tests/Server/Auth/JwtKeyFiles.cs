using System.Security.Cryptography;

namespace RaftKv.Tests.Server.Auth;

/// <summary>Key files for --auth-token jwt tests, made with .NET's RSA and ECDsa and written as PEM in a temporary directory removed on dispose.</summary>
public sealed class JwtKeyFiles : IDisposable
{
    public JwtKeyFiles()
    {
        Directory.CreateDirectory(Dir);
    }

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "raftkv-tests", "jwt-" + Guid.NewGuid().ToString("n"));

    /// <summary>Writes <paramref name="text"/> to a file named <paramref name="name"/>; its path.</summary>
    public string Write(string name, string text)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A new RSA pair: (priv-key path as PKCS#8, pub-key path as SubjectPublicKeyInfo).</summary>
    public (string Private, string Public) Rsa(string name, int bits = 2048)
    {
        using var rsa = RSA.Create(bits);
        return (Write(name + ".key", rsa.ExportPkcs8PrivateKeyPem()), Write(name + ".pub", rsa.ExportSubjectPublicKeyInfoPem()));
    }

    /// <summary>A new EC pair on <paramref name="curve"/>: (priv-key path as SEC1 "EC PRIVATE KEY", pub-key path).</summary>
    public (string Private, string Public) Ec(string name, ECCurve curve)
    {
        using var ec = ECDsa.Create(curve);
        return (Write(name + ".key", ec.ExportECPrivateKeyPem()), Write(name + ".pub", ec.ExportSubjectPublicKeyInfoPem()));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
