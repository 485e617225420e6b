using System.Diagnostics;

namespace RaftKv.Tests.Infrastructure;

/// <summary>Outside programs some tests drive, found on PATH (installed by scripts/install-test-deps.sh).</summary>
public static class ExternalTools
{
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    /// <summary>Runs a program to completion (bounded) and returns exit code and combined output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout, string? stdin = null,
        IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Find(program) ?? program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        if (environment is not null) foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
        }
        return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }
}

/// <summary>A fact that needs etcdctl; skipped, naming the Debian package, where it is missing.</summary>
public sealed class EtcdctlFactAttribute : FactAttribute
{
    public EtcdctlFactAttribute()
    {
        if (ExternalTools.Find("etcdctl") is null) Skip = "etcdctl not found: install the Debian package etcd-client (scripts/install-test-deps.sh does)";
    }
}

/// <summary>A fact that needs a real etcd server; skipped, naming the Debian package, where it is missing.</summary>
public sealed class EtcdServerFactAttribute : FactAttribute
{
    public EtcdServerFactAttribute()
    {
        if (ExternalTools.Find("etcd") is null) Skip = "etcd not found: install the Debian package etcd-server (scripts/install-test-deps.sh does)";
    }
}
