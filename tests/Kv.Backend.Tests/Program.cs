namespace RaftKv.Kv.Backend.Tests;

/// <summary>The test assembly's entry point: only the crash tests' child processes run it.</summary>
public static class Program
{
    public static int Main(string[] args) => args.FirstOrDefault() switch
    {
        SwitchCrashChild.StepCommand or SwitchCrashChild.LoopCommand => SwitchCrashChild.Run(args),
        _ => CrashWriter.Run(args),
    };
}
