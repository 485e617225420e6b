using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RaftKv.Server.Tls;

/// <summary>
/// A certificate and key read from PEM files, read again when either file's modification time changes, checked at
/// most once per <see cref="CheckInterval"/>: certificates can be replaced on disk without a restart, and new
/// connections get the new one. A replacement that cannot be read (half written, key not matching) keeps the last
/// good certificate and is retried at the next check.
/// </summary>
/// <remarks>Thread-safe: handshakes call <see cref="Current"/> concurrently; a reload is done by one caller at a time.</remarks>
public sealed class ReloadingCertificate
{
    /// <summary>Shortest time between two looks at the files' modification times.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly string? _certPath;
    private readonly string? _keyPath;
    private X509Certificate2 _current;
    private (DateTime Cert, DateTime Key) _stamps;
    private long _nextCheckTicks;

    private ReloadingCertificate(X509Certificate2 certificate, string? certPath, string? keyPath)
    {
        _current = certificate;
        _certPath = certPath;
        _keyPath = keyPath;
        if (certPath is not null && keyPath is not null) _stamps = (File.GetLastWriteTimeUtc(certPath), File.GetLastWriteTimeUtc(keyPath));
        _nextCheckTicks = Environment.TickCount64 + (long)CheckInterval.TotalMilliseconds;
    }

    /// <summary>Where the certificate comes from, for messages: the file, or "auto-tls".</summary>
    public string Source => _certPath ?? "auto-tls (self-signed)";

    /// <summary>Called with the error when a changed file could not be loaded (the old certificate stays).</summary>
    public Action<string>? ReloadFailed { get; set; }

    /// <summary>
    /// The certificate in <paramref name="certPath"/> with the key in <paramref name="keyPath"/>; throws
    /// <see cref="FormatException"/> naming the flags and the file when either cannot be used.
    /// </summary>
    public static ReloadingCertificate FromFiles(string certPath, string keyPath, string certFlag, string keyFlag)
    {
        return new ReloadingCertificate(Load(certPath, keyPath, certFlag, keyFlag), Path.GetFullPath(certPath), Path.GetFullPath(keyPath));
    }

    /// <summary>A fixed certificate (--auto-tls): never reloaded.</summary>
    public static ReloadingCertificate Fixed(X509Certificate2 certificate) => new(certificate, null, null);

    /// <summary>The certificate to present now; reloads it first when its files changed.</summary>
    public X509Certificate2 Current
    {
        get
        {
            if (_certPath is null || Environment.TickCount64 < Volatile.Read(ref _nextCheckTicks)) return Volatile.Read(ref _current);
            lock (_gate)
            {
                if (Environment.TickCount64 >= _nextCheckTicks)
                {
                    _nextCheckTicks = Environment.TickCount64 + (long)CheckInterval.TotalMilliseconds;
                    ReloadIfChanged();
                }
                return _current;
            }
        }
    }

    private void ReloadIfChanged()
    {
        try
        {
            var stamps = (File.GetLastWriteTimeUtc(_certPath!), File.GetLastWriteTimeUtc(_keyPath!));
            if (stamps == _stamps) return;
            var loaded = Load(_certPath!, _keyPath!, "--cert-file", "--key-file");
            Volatile.Write(ref _current, loaded); // the old one stays alive for handshakes that already hold it
            _stamps = stamps;
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            ReloadFailed?.Invoke(e.Message);
        }
    }

    private static X509Certificate2 Load(string certPath, string keyPath, string certFlag, string keyFlag)
    {
        if (!File.Exists(certPath)) throw new FormatException($"{certFlag}: file '{certPath}' does not exist");
        if (!File.Exists(keyPath)) throw new FormatException($"{keyFlag}: file '{keyPath}' does not exist");
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException) // ArgumentException: a key of another certificate
        {
            throw new FormatException($"{certFlag} '{certPath}' / {keyFlag} '{keyPath}': not a PEM certificate with its matching private key ({e.Message})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{certFlag} '{certPath}' / {keyFlag} '{keyPath}': cannot be read ({e.Message})");
        }
        if (!certificate.HasPrivateKey) throw new FormatException($"{keyFlag} '{keyPath}' holds no private key for {certFlag} '{certPath}'");
        return certificate;
    }
}
