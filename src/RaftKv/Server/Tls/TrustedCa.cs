using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RaftKv.Server.Tls;

/// <summary>
/// The CA certificates of --trusted-ca-file (or --peer-trusted-ca-file), re-read when the file's modification time
/// changes (checked at most once per <see cref="ReloadingCertificate.CheckInterval"/>), and the check of a
/// certificate against them alone: the system's roots are not trusted, as in etcd.
/// </summary>
public sealed class TrustedCa
{
    private readonly Lock _gate = new();
    private readonly string _path;
    private readonly string _flag;
    private X509Certificate2Collection _roots;
    private DateTime _stamp;
    private long _nextCheckTicks;

    private TrustedCa(string path, string flag, X509Certificate2Collection roots)
    {
        _path = path;
        _flag = flag;
        _roots = roots;
        _stamp = File.GetLastWriteTimeUtc(path);
        _nextCheckTicks = Environment.TickCount64 + (long)ReloadingCertificate.CheckInterval.TotalMilliseconds;
    }

    /// <summary>The CA file; throws <see cref="FormatException"/> naming <paramref name="flag"/> and the file when it is unusable.</summary>
    public static TrustedCa FromFile(string path, string flag) => new(Path.GetFullPath(path), flag, Load(path, flag));

    /// <summary>Whether <paramref name="certificate"/> chains to one of the CAs and is in its validity period; otherwise why not.</summary>
    public bool Verifies(X509Certificate2 certificate, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        if (chain.Build(certificate))
        {
            problem = null;
            return true;
        }
        problem = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        if (problem.Length == 0) problem = "does not chain to a trusted CA";
        return false;
    }

    private X509Certificate2Collection Roots
    {
        get
        {
            if (Environment.TickCount64 < Volatile.Read(ref _nextCheckTicks)) return Volatile.Read(ref _roots);
            lock (_gate)
            {
                if (Environment.TickCount64 >= _nextCheckTicks)
                {
                    _nextCheckTicks = Environment.TickCount64 + (long)ReloadingCertificate.CheckInterval.TotalMilliseconds;
                    try
                    {
                        var stamp = File.GetLastWriteTimeUtc(_path);
                        if (stamp != _stamp)
                        {
                            Volatile.Write(ref _roots, Load(_path, _flag));
                            _stamp = stamp;
                        }
                    }
                    catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
                    {
                        // keep the last good roots; the next check tries again
                    }
                }
                return _roots;
            }
        }
    }

    private static X509Certificate2Collection Load(string path, string flag)
    {
        if (!File.Exists(path)) throw new FormatException($"{flag}: file '{path}' does not exist");
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (CryptographicException e)
        {
            throw new FormatException($"{flag} '{path}': not PEM certificates ({e.Message})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{flag} '{path}': cannot be read ({e.Message})");
        }
        if (roots.Count == 0) throw new FormatException($"{flag} '{path}': holds no PEM certificate");
        return roots;
    }
}
