namespace RaftKv.Kv.Backend.Tests;

/// <summary>The test assembly's entry point: only the crash test's child process runs it.</summary>
public static class Program
{
    public static int Main(string[] args) => CrashWriter.Run(args);
}
