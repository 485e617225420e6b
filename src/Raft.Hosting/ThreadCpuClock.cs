using System.Runtime.InteropServices;

namespace RaftKv.Raft.Hosting;

/// <summary>
/// The CPU time the calling thread has used (Linux: <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>). The loop's
/// wall-clock time for a step includes time the scheduler gave to other threads; its CPU time is the step's own work.
/// On a machine where the clock cannot be read, <see cref="Now"/> is null and callers report wall time only.
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID on Linux
    private static bool s_unavailable = !OperatingSystem.IsLinux() || !Environment.Is64BitProcess;

    /// <summary>The calling thread's CPU time so far, or null where it cannot be read.</summary>
    public static TimeSpan? Now()
    {
        if (s_unavailable) return null;
        try
        {
            if (clock_gettime(ClockThreadCpuTimeId, out var time) != 0) return null;
            return TimeSpan.FromTicks(time.Seconds * TimeSpan.TicksPerSecond + time.Nanoseconds / 100);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return null;
        }
    }

    /// <summary>CPU time used by the calling thread since <paramref name="start"/> (a value of <see cref="Now"/>), or null.</summary>
    public static TimeSpan? Since(TimeSpan? start) => start is { } s && Now() is { } now ? now - s : null;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc")]
    private static partial int clock_gettime(int clockId, out TimeSpec time);
}
