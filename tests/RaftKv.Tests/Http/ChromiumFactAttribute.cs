namespace RaftKv.Tests.Http;

/// <summary>A fact that drives Debian's chromium (never a downloaded browser); skipped, naming the package, where it is missing.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>Debian's chromium.</summary>
    public const string ExecutablePath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ExecutablePath)) Skip = "chromium not found: install the Debian package chromium (scripts/install-test-deps.sh does)";
    }
}
