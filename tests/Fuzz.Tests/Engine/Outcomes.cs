namespace RaftKv.Fuzz.Tests.Engine;

/// <summary>
/// What each execution ended as ("rejected: InvalidDataException", "accepted"), counted per runner thread, so a run
/// shows that the inputs reach past the first check rather than all bouncing off it.
/// </summary>
public static class Outcomes
{
    [ThreadStatic] private static Dictionary<string, long>? _counts;

    /// <summary>Counts one execution's outcome (called by the targets).</summary>
    public static void Note(string outcome)
    {
        if (_counts is null) return;
        _counts[outcome] = _counts.GetValueOrDefault(outcome) + 1;
    }

    internal static void Begin() => _counts = new Dictionary<string, long>(StringComparer.Ordinal);

    internal static IReadOnlyDictionary<string, long> End()
    {
        var counts = _counts ?? [];
        _counts = null;
        return counts;
    }
}
