using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Http;

/// <summary>
/// A fact that drives Debian's chromium (never a downloaded browser); see <see cref="RequiresProgramFactAttribute"/> for when it skips
/// (missing, outside CI) or fails (missing, CI=true).
/// </summary>
public sealed class ChromiumFactAttribute() : RequiresProgramFactAttribute("chromium", "chromium", ExecutablePath)
{
    /// <summary>Debian's chromium.</summary>
    public const string ExecutablePath = "/usr/bin/chromium";
}
