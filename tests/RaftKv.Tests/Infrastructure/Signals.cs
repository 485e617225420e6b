using System.Runtime.InteropServices;

namespace RaftKv.Tests.Infrastructure;

/// <summary>POSIX signals for pausing and resuming member processes.</summary>
internal static class Signals
{
    public const int Sigkill = 9;
    public const int Sigterm = 15;
    public const int Sigstop = 19;
    public const int Sigcont = 18;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillNative(int pid, int signal);

    public static void Send(int pid, int signal)
    {
        if (KillNative(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
