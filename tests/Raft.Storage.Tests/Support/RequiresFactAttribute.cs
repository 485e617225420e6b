using Xunit.Abstractions;
using Xunit.Sdk;

namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>What a test needs from the machine beyond .NET.</summary>
public enum Requirement
{
    /// <summary>A small tmpfs mounted on demand, to fill up or to make read-only: Linux, root, and permission to mount.</summary>
    Tmpfs,

    /// <summary>A directory this process cannot write: a read-only tmpfs as root (root ignores file modes), or chmod as any other Unix user.</summary>
    ReadOnlyDirectory,

    /// <summary>Another process holding the flock(2) lock: Linux with flock(1) from util-linux.</summary>
    Flock,
}

/// <summary>
/// The rule behind <see cref="RequiresFactAttribute"/> and <see cref="RequiresTheoryAttribute"/>: a test whose requirement is not met
/// is reported as Skipped with the reason, never as a pass. In CI (environment variable <c>CI=true</c>) on Linux, .ci/run runs the
/// tests as root with util-linux: there a requirement unmet for want of root, or of flock(1), fails the test instead, so CI cannot go
/// green by running unprivileged. A root process that may still not mount (a container without CAP_SYS_ADMIN) skips with the reason:
/// that is the machine's policy, not a broken setup, and the skip is visible in the run.
/// </summary>
public static class Requirements
{
    /// <summary>Why <paramref name="requirement"/> is not met here, or null when it is.</summary>
    public static string? WhyUnmet(Requirement requirement) => requirement switch
    {
        Requirement.Tmpfs => Tmpfs.WhyNotMountable,
        Requirement.ReadOnlyDirectory when OperatingSystem.IsWindows() => "a read-only directory needs Unix file modes or a read-only tmpfs",
        Requirement.ReadOnlyDirectory when Environment.IsPrivilegedProcess && Tmpfs.WhyNotMountable is { } why =>
            $"root ignores file modes, so a read-only directory needs a read-only tmpfs, and {why}",
        Requirement.ReadOnlyDirectory => null,
        Requirement.Flock when !OperatingSystem.IsLinux() => "flock(1) needs Linux",
        Requirement.Flock when !File.Exists(FlockPath) => $"{FlockPath} not found: install the Debian package util-linux",
        Requirement.Flock => null,
        _ => throw new ArgumentOutOfRangeException(nameof(requirement), requirement, null),
    };

    /// <summary>flock(1) from Debian's util-linux.</summary>
    public const string FlockPath = "/usr/bin/flock";

    /// <summary>CI=true, as set by GitHub Actions, GitLab and most other CI systems (.ci/run should set it too).</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Sets <paramref name="skip"/> or <paramref name="ciFailure"/> (at most one) for a test that needs <paramref name="requirement"/>.</summary>
    internal static void Decide(Requirement requirement, out string? skip, out string? ciFailure)
    {
        skip = ciFailure = null;
        if (WhyUnmet(requirement) is not { } why) return;
        var setupBroken = !Environment.IsPrivilegedProcess || requirement == Requirement.Flock;
        if (InCi && OperatingSystem.IsLinux() && setupBroken) ciFailure = $"CI=true on Linux, so this test must run, but {why} (.ci/run runs the tests as root)";
        else skip = why;
    }
}

/// <summary>A fact that needs <see cref="Requirement"/>: skipped with the reason where it is unmet, failed with the reason in CI (see <see cref="Requirements"/>).</summary>
[XunitTestCaseDiscoverer("RaftKv.Raft.Storage.Tests.Support.RequiresFactDiscoverer", "RaftKv.Raft.Storage.Tests")]
public sealed class RequiresFactAttribute : FactAttribute
{
    public RequiresFactAttribute(Requirement requirement)
    {
        Requirements.Decide(requirement, out var skip, out var ciFailure);
        if (skip is not null) Skip = skip;
        CiFailure = ciFailure;
    }

    /// <summary>Why this test fails without running (CI only), or null; read by the discoverer.</summary>
    public string? CiFailure { get; }
}

/// <summary>A theory that needs <see cref="Requirement"/>; the same rule as <see cref="RequiresFactAttribute"/>.</summary>
[XunitTestCaseDiscoverer("RaftKv.Raft.Storage.Tests.Support.RequiresTheoryDiscoverer", "RaftKv.Raft.Storage.Tests")]
public sealed class RequiresTheoryAttribute : TheoryAttribute
{
    public RequiresTheoryAttribute(Requirement requirement)
    {
        Requirements.Decide(requirement, out var skip, out var ciFailure);
        if (skip is not null) Skip = skip;
        CiFailure = ciFailure;
    }

    /// <inheritdoc cref="RequiresFactAttribute.CiFailure"/>
    public string? CiFailure { get; }
}

/// <summary>
/// An attribute cannot fail a test, but a discoverer can: when the attribute names a CI failure, the test is discovered as one test case
/// that fails with that message (xunit's own <see cref="ExecutionErrorTestCase"/>); otherwise xunit's usual discoverer runs, honouring Skip.
/// </summary>
public abstract class RequirementDiscoverer(IMessageSink diagnosticMessageSink, IXunitTestCaseDiscoverer inner) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var ciFailure = factAttribute.GetNamedArgument<string?>(nameof(RequiresFactAttribute.CiFailure));
        if (ciFailure is null) return inner.Discover(discoveryOptions, testMethod, factAttribute);
        return [new ExecutionErrorTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, ciFailure)];
    }
}

public sealed class RequiresFactDiscoverer(IMessageSink diagnosticMessageSink)
    : RequirementDiscoverer(diagnosticMessageSink, new FactDiscoverer(diagnosticMessageSink));

public sealed class RequiresTheoryDiscoverer(IMessageSink diagnosticMessageSink)
    : RequirementDiscoverer(diagnosticMessageSink, new TheoryDiscoverer(diagnosticMessageSink));
