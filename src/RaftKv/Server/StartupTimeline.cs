using System.Diagnostics;

namespace RaftKv.Server;

/// <summary>
/// How long each phase of a member's start took, for the "serving" log line: the runtime before <c>Main</c> (from
/// the process's start time), opening the Raft log, opening the store, building the web host, starting the Raft
/// host and starting the listeners. Restart-to-serving is a figure of issue 12; this says where it goes.
/// </summary>
internal sealed class StartupTimeline
{
    /// <summary>The phases, in the order a start goes through them.</summary>
    public enum Phase { Log, Store, Host, Raft, Listen }

    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private readonly double _runtimeMs;
    private readonly double[] _phaseMs = new double[Enum.GetValues<Phase>().Length];
    private long _lastTimestamp;

    public StartupTimeline()
    {
        _lastTimestamp = _startTimestamp;
        try
        {
            using var process = Process.GetCurrentProcess();
            _runtimeMs = Math.Max(0, (DateTime.Now - process.StartTime).TotalMilliseconds);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            _runtimeMs = double.NaN; // the start time is not readable here; the line says so
        }
    }

    /// <summary>Ends <paramref name="phase"/> now: it took the time since the previous mark.</summary>
    public void Mark(Phase phase)
    {
        var now = Stopwatch.GetTimestamp();
        _phaseMs[(int)phase] += Stopwatch.GetElapsedTime(_lastTimestamp, now).TotalMilliseconds;
        _lastTimestamp = now;
    }

    /// <summary>For example "812 ms (runtime 160, log 12, store 95, host 240, raft 3, listen 302)".</summary>
    public override string ToString()
    {
        var sinceMain = Stopwatch.GetElapsedTime(_startTimestamp).TotalMilliseconds;
        var total = double.IsNaN(_runtimeMs) ? sinceMain : _runtimeMs + sinceMain;
        var parts = string.Join(", ", Enum.GetValues<Phase>().Select(p => $"{p.ToString().ToLowerInvariant()} {_phaseMs[(int)p]:F0}"));
        var runtime = double.IsNaN(_runtimeMs) ? "?" : _runtimeMs.ToString("F0", System.Globalization.CultureInfo.InvariantCulture);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{total:F0} ms (runtime {runtime}, {parts})");
    }
}
