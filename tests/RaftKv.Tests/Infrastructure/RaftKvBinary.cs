using System.Collections.Concurrent;
using System.Diagnostics;

namespace RaftKv.Tests.Infrastructure;

/// <summary>Finds and runs the raftkv binary built alongside the tests.</summary>
public static class RaftKvBinary
{
    /// <summary>src/RaftKv/bin/&lt;Configuration&gt;/net10.0/raftkv.dll for the configuration the tests were built in.</summary>
    public static string DllPath { get; } = Locate();

    private static string Locate()
    {
        var testDir = AppContext.BaseDirectory; // .../tests/RaftKv.Tests/bin/<Configuration>/net10.0/
        var tfm = new DirectoryInfo(testDir.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = tfm.Parent!.Name;
        var dir = tfm;
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RaftKv.slnx"))) dir = dir.Parent;
        if (dir is null) throw new FileNotFoundException($"cannot find the repository root above {testDir}");
        var dll = Path.Combine(dir.FullName, "src", "RaftKv", "bin", configuration, tfm.Name, "raftkv.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"raftkv is not built: {dll}");
        return dll;
    }

    /// <summary>
    /// Starts raftkv with <paramref name="args"/>; output lines go to <paramref name="output"/> (bounded). Variables
    /// in <paramref name="environment"/> are set for the child only (a null value removes one). With
    /// <paramref name="inNamespace"/>, it runs in that network namespace (<c>ip netns exec</c>, which execs: the
    /// process is raftkv itself, so kill -9 and SIGSTOP reach it).
    /// </summary>
    public static Process Start(IEnumerable<string> args, ConcurrentQueue<string> output, bool exitOnStdinEof = true,
        IReadOnlyDictionary<string, string?>? environment = null, string? inNamespace = null)
    {
        var start = new ProcessStartInfo(inNamespace is null ? "dotnet" : ExternalTools.Require("ip", "iproute2"))
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) start.Environment[name] = value;
        if (inNamespace is not null)
        {
            foreach (var a in (string[])["netns", "exec", inNamespace, ExternalTools.Find("dotnet") ?? "dotnet"]) start.ArgumentList.Add(a);
        }
        start.ArgumentList.Add(DllPath);
        foreach (var a in args) start.ArgumentList.Add(a);
        // The pipe closes if the test process dies, and the member stops: no orphans between test runs.
        if (exitOnStdinEof && start.ArgumentList.Contains("serve")) start.ArgumentList.Add("--exit-on-stdin-eof");
        var process = new Process { StartInfo = start };
        void Add(string? line)
        {
            if (line is null) return;
            output.Enqueue(line);
            while (output.Count > 2000) output.TryDequeue(out _);
        }
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs raftkv to completion (bounded) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var output = new ConcurrentQueue<string>();
        using var process = Start(args, output, exitOnStdinEof: false, environment);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"raftkv {string.Join(' ', args)} did not exit within {timeout.TotalSeconds} s:\n{string.Join('\n', output)}");
        }
        process.WaitForExit(); // drain the output
        return (process.ExitCode, string.Join('\n', output));
    }
}
