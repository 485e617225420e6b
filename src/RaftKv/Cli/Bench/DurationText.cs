using System.Globalization;

namespace RaftKv.Cli.Bench;

/// <summary>
/// Parses durations the way Go tools write them, as etcd's flags take them: one or more numbers, each with its unit
/// (<c>500ms</c>, <c>10s</c>, <c>2m</c>, <c>1h30m</c>, <c>1.5h</c>, <c>2h45m30.5s</c>; units ns, us, µs, ms, s, m, h);
/// a bare number is seconds.
/// </summary>
public static class DurationText
{
    /// <summary>Longest text read: a duration is never longer; anything longer is refused before parsing.</summary>
    public const int MaxLength = 64;

    // Longest first, so "ms" is not read as "m" followed by "s".
    private static readonly (string Unit, double Seconds)[] Units =
        [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)];

    /// <summary>Parses <paramref name="text"/>; false (and a reason) when it is not a positive duration.</summary>
    public static bool TryParse(string text, out TimeSpan duration, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        duration = default;
        error = $"'{(text.Length > MaxLength ? text[..MaxLength] + "..." : text)}' is not a duration (examples: 500ms, 10s, 2m, 1h30m, 30)";
        var t = text.Trim().AsSpan();
        if (t.IsEmpty || t.Length > MaxLength) return false;
        double seconds;
        if (double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var bare))
        {
            seconds = bare;
        }
        else if (!TrySum(t, out seconds))
        {
            return false;
        }
        if (!double.IsFinite(seconds) || seconds <= 0 || seconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            error = $"'{text}' must be a positive duration";
            return false;
        }
        duration = TimeSpan.FromSeconds(seconds);
        error = "";
        return true;
    }

    // "1h30m" = 1 h + 30 m: each part a decimal number and a unit, nothing between them.
    private static bool TrySum(ReadOnlySpan<char> t, out double seconds)
    {
        seconds = 0;
        while (!t.IsEmpty)
        {
            var digits = 0;
            while (digits < t.Length && (char.IsAsciiDigit(t[digits]) || t[digits] == '.')) digits++;
            if (digits == 0 || !double.TryParse(t[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)) return false;
            t = t[digits..];
            var unit = 0;
            while (unit < Units.Length && !t.StartsWith(Units[unit].Unit, StringComparison.Ordinal)) unit++;
            if (unit == Units.Length) return false;
            seconds += value * Units[unit].Seconds;
            t = t[Units[unit].Unit.Length..];
        }
        return true;
    }
}
