using System.Diagnostics;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace RaftKv.Tests.Infrastructure;

/// <summary>Outside programs some tests drive, found on PATH (installed by scripts/install-test-deps.sh).</summary>
public static class ExternalTools
{
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    /// <summary>The full path of <paramref name="program"/>; throws, naming the Debian package, when it is not on PATH.</summary>
    public static string Require(string program, string debianPackage) =>
        Find(program) ?? throw new InvalidOperationException(Missing(program, debianPackage));

    internal static string Missing(string program, string debianPackage) =>
        $"{program} not found: install the Debian package {debianPackage} (scripts/install-test-deps.sh does)";

    /// <summary>CI=true, as set by GitHub Actions, GitLab and most other CI systems (.ci/run should set it too).</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

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

/// <summary>
/// A fact that needs an outside program. Where the program is missing the test is reported as Skipped, naming the Debian package;
/// but in CI (environment variable <c>CI=true</c>), where .ci/run installs those packages, it is reported as Failed with the same
/// message instead, so a CI run cannot go green by skipping. The rule lives here, in the attribute, so no test can forget it.
/// </summary>
[XunitTestCaseDiscoverer("RaftKv.Tests.Infrastructure.RequiresProgramDiscoverer", "RaftKv.Tests")]
public abstract class RequiresProgramFactAttribute : FactAttribute
{
    protected RequiresProgramFactAttribute(string program, string debianPackage, string? path = null)
        : this([new Requirement(program, debianPackage, path)])
    {
    }

    /// <summary>A fact that needs every one of <paramref name="needs"/>; the message names each missing one and its package.</summary>
    protected RequiresProgramFactAttribute(IReadOnlyList<Requirement> needs)
    {
        var missing = needs.Where(n => !n.IsPresent).Select(n => n.MissingMessage).ToArray();
        if (missing.Length == 0) return;
        var message = string.Join("; ", missing);
        if (ExternalTools.InCi) CiFailure = $"CI=true, so this test must run, but {message}";
        else Skip = message;
    }

    /// <summary>Why this test fails without running (CI only), or null; read by <see cref="RequiresProgramDiscoverer"/>.</summary>
    public string? CiFailure { get; }
}

/// <summary>
/// An attribute cannot fail a test, but a discoverer can: when the attribute names a CI failure the test is discovered as one test case
/// that fails with that message (xunit's own <see cref="ExecutionErrorTestCase"/>); otherwise xunit's fact discoverer runs, honouring Skip.
/// </summary>
public sealed class RequiresProgramDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    private readonly FactDiscoverer _facts = new(diagnosticMessageSink);

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var ciFailure = factAttribute.GetNamedArgument<string?>(nameof(RequiresProgramFactAttribute.CiFailure));
        if (ciFailure is null) return _facts.Discover(discoveryOptions, testMethod, factAttribute);
        return [new ExecutionErrorTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, ciFailure)];
    }
}

/// <summary>A program on PATH, or a file at <see cref="Path"/> (a module, a binary off PATH), and the Debian package that installs it.</summary>
public readonly record struct Requirement(string Program, string DebianPackage, string? Path = null)
{
    public bool IsPresent => Program.Length == 0 ? Met : Path is null ? ExternalTools.Find(Program) is not null : File.Exists(Path);

    /// <summary>What the test needs that is not a program (root, say), with the message to give when it is missing.</summary>
    public static Requirement Condition(bool met, string message) => new("", "") { Met = met, Message = message };

    /// <summary>Why the test cannot run without this.</summary>
    public string MissingMessage => Message ?? ExternalTools.Missing(Path ?? Program, DebianPackage);

    private bool Met { get; init; }

    private string? Message { get; init; }
}

/// <summary>A fact that needs etcdctl (Debian etcd-client); see <see cref="RequiresProgramFactAttribute"/> for when it skips or fails.</summary>
public sealed class EtcdctlFactAttribute() : RequiresProgramFactAttribute("etcdctl", "etcd-client");

/// <summary>A fact that needs a real etcd server (Debian etcd-server); see <see cref="RequiresProgramFactAttribute"/> for when it skips or fails.</summary>
public sealed class EtcdServerFactAttribute() : RequiresProgramFactAttribute("etcd", "etcd-server");

/// <summary>A fact that needs both a real etcd server and etcdctl (the same command against etcd and raftkv).</summary>
public sealed class EtcdServerAndEtcdctlFactAttribute() : RequiresProgramFactAttribute([new Requirement("etcd", "etcd-server"), new Requirement("etcdctl", "etcd-client")]);
