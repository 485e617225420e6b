using System.Globalization;

namespace RaftKv.Cli.Bench;

/// <summary>Parses durations the way Go tools write them (<c>500ms</c>, <c>10s</c>, <c>2m</c>, <c>1h</c>); a bare number is seconds.</summary>
public static class DurationText
{
    /// <summary>Parses <paramref name="text"/>; false (and a reason) when it is not a positive duration.</summary>
    public static bool TryParse(string text, out TimeSpan duration, out string error)
    {
        duration = default;
        error = "";
        var t = text.Trim();
        var (number, unit) = t.EndsWith("ms", StringComparison.Ordinal) ? (t[..^2], 1e-3)
            : t.EndsWith('s') ? (t[..^1], 1.0)
            : t.EndsWith('m') ? (t[..^1], 60.0)
            : t.EndsWith('h') ? (t[..^1], 3600.0)
            : (t, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            error = $"'{text}' is not a duration (examples: 500ms, 10s, 2m, 30)";
            return false;
        }
        var seconds = value * unit;
        if (seconds <= 0 || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            error = $"'{text}' must be a positive duration";
            return false;
        }
        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
