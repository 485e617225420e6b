using Microsoft.Extensions.Logging;

namespace RaftKv.Cli;

internal static class LogLevels
{
    public static bool TryParse(string text, out LogLevel level)
    {
        level = text.ToLowerInvariant() switch
        {
            "debug" => LogLevel.Debug,
            "info" or "information" => LogLevel.Information,
            "warn" or "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            _ => LogLevel.None,
        };
        return level != LogLevel.None;
    }
}
