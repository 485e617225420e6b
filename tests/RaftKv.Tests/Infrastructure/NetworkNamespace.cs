using System.Diagnostics;

namespace RaftKv.Tests.Infrastructure;

/// <summary>
/// A network namespace of the test's own (<c>ip netns add</c>, root only) with its loopback up: a host of its own, so
/// a program that binds fixed ports (<c>raftkv cluster</c>'s 2379, 8000, ...) runs there as on a fresh machine without
/// meeting anything else on this one. Removed on dispose; programs are run in it by <c>ip netns exec</c>.
/// </summary>
internal sealed class NetworkNamespace : IAsyncDisposable
{
    private static int _created;

    private NetworkNamespace(string name) => Name = name;

    /// <summary>The namespace's name: raftkv-test-PID-N, unique on this machine while this process runs.</summary>
    public string Name { get; }

    /// <summary>Creates the namespace and brings its loopback up; throws with ip's output when either fails.</summary>
    public static async Task<NetworkNamespace> CreateAsync()
    {
        var name = $"raftkv-test-{Environment.ProcessId}-{Interlocked.Increment(ref _created)}";
        await IpAsync("netns", "add", name);
        var created = new NetworkNamespace(name);
        try
        {
            await IpAsync("-n", name, "link", "set", "lo", "up");
        }
        catch
        {
            await created.DisposeAsync();
            throw;
        }
        return created;
    }

    /// <summary>How to start <paramref name="program"/> with <paramref name="args"/> inside the namespace.</summary>
    public ProcessStartInfo StartInfo(string program, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(ExternalTools.Require("ip", "iproute2"))
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in (string[])["netns", "exec", Name, ExternalTools.Find(program) ?? program, .. args]) start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>Runs <paramref name="program"/> to completion inside the namespace (bounded by <paramref name="timeout"/>).</summary>
    public Task<(int ExitCode, string Output)> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout) =>
        ExternalTools.RunAsync("ip", ["netns", "exec", Name, ExternalTools.Find(program) ?? program, .. args], timeout);

    public async ValueTask DisposeAsync()
    {
        // Processes still inside keep their sockets until they exit; the name goes now.
        await ExternalTools.RunAsync("ip", ["netns", "delete", Name], TimeSpan.FromSeconds(10));
    }

    /// <summary>Runs ip with <paramref name="args"/> (bounded); throws with its output when it fails.</summary>
    internal static async Task IpAsync(params string[] args)
    {
        var (code, output) = await ExternalTools.RunAsync("ip", args, TimeSpan.FromSeconds(10));
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({code}): {output}");
    }
}

/// <summary>
/// A fact that needs root (to create a network namespace), iproute2's <c>ip</c> and etcdctl; skipped naming what is
/// missing on a developer's machine, failed in CI (see <see cref="RequiresProgramFactAttribute"/>).
/// </summary>
public sealed class NetworkNamespaceAndEtcdctlFactAttribute() : RequiresProgramFactAttribute(
[
    new Requirement("ip", "iproute2"),
    new Requirement("etcdctl", "etcd-client"),
    Requirement.Condition(Environment.IsPrivilegedProcess, "not root: creating a network namespace needs root (CI runs as root)"),
]);
