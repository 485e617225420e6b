using System.Runtime.InteropServices;

namespace RaftKv.Raft.Hosting;

/// <summary>
/// Sets the calling thread's nice value (Linux: <c>setpriority(PRIO_PROCESS, gettid(), nice)</c>, which on Linux applies
/// to the one thread). .NET's <see cref="Thread.Priority"/> changes nothing on Linux.
/// </summary>
internal static partial class LoopThreadPriority
{
    private const int PrioProcess = 0;

    /// <summary>Sets the calling thread's nice value; returns null on success, else why not (no privilege, not Linux).</summary>
    public static string? TrySet(int nice)
    {
        if (!OperatingSystem.IsLinux()) return "thread nice values are set on Linux only";
        try
        {
            var tid = gettid();
            if (setpriority(PrioProcess, (uint)tid, nice) == 0) return null;
            var errno = Marshal.GetLastPInvokeError();
            return errno == 13 // EACCES: lowering the nice value needs CAP_SYS_NICE
                ? $"setting nice {nice} needs CAP_SYS_NICE (run as root, or grant it)"
                : $"setpriority failed with errno {errno}";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return e.Message;
        }
    }

    [LibraryImport("libc")]
    private static partial int gettid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, uint who, int prio);
}
