using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests.Apps;

/// <summary>
/// OpenStack's etcd3gw client (Debian python3-etcd3gw), which speaks only etcd's JSON gateway: put, get, prefix, sort,
/// create/replace and raw transactions, lease grant/put/ttl/keys/keepalive/revoke, live and historical watches, and its
/// transaction-based Lock. <c>etcd3gw_probe.py</c> prints one normalized JSON line per step; each server's lines must
/// equal <c>etcd3gw_probe.etcd-3.4.jsonl</c>, recorded from a real etcd 3.4.23 and checked again by the etcd case
/// (run it with <c>RAFTKV_REWRITE_GOLDEN=1</c> to record it anew).
/// </summary>
[Collection(AppsCollection.Name)]
public sealed class Etcd3gwTests(ITestOutputHelper output)
{
    public const string PythonPath = "/usr/bin/python3"; // Debian's: a pyenv python first on PATH lacks Debian's modules
    public const string ModulePath = "/usr/lib/python3/dist-packages/etcd3gw/__init__.py";
    private const string Script = "etcd3gw_probe.py";
    private const string Golden = "etcd3gw_probe.etcd-3.4.jsonl";
    private static readonly TimeSpan ProbeMax = TimeSpan.FromSeconds(120); // about 2 s on etcd; every wait inside is bounded by 10 s

    [Etcd3gwFact(onEtcd: true)]
    public Task Etcd3gw_on_etcd_matches_the_recording() => ProbeAsync(Backend.Etcd);

    [Etcd3gwFact]
    public Task Etcd3gw_on_raftkv_matches_etcd() => ProbeAsync(Backend.RaftKv);

    private async Task ProbeAsync(Backend kind)
    {
        await using var backend = await AppBackend.StartAsync(kind);
        var endpoint = new Uri(backend.ClientUrls[0]);
        var probe = System.Diagnostics.Stopwatch.StartNew();
        var (code, text) = await ExternalTools.RunAsync(PythonPath,
            [Path.Combine(AppContext.BaseDirectory, "Apps", Script), endpoint.Host, endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            ProbeMax, environment: new Dictionary<string, string> { ["PYTHONDONTWRITEBYTECODE"] = "1" });
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var results = lines.Where(l => l.StartsWith('{')).ToArray();
        output.WriteLine($"{kind}: {Script} took {probe.Elapsed.TotalSeconds:F1} s against {endpoint.Authority}");
        foreach (var line in results) output.WriteLine($"{kind}: {line}");
        Assert.True(code == 0, $"{Script} exited with {code}:\n{text}\n{backend.Diagnostics()}");

        if (kind == Backend.Etcd && Environment.GetEnvironmentVariable("RAFTKV_REWRITE_GOLDEN") == "1")
        {
            await File.WriteAllLinesAsync(Path.Combine(SourceDirectory(), Golden), results);
            return;
        }
        var expected = await File.ReadAllLinesAsync(Path.Combine(AppContext.BaseDirectory, "Apps", Golden));
        var differences = Enumerable.Range(0, Math.Max(expected.Length, results.Length))
            .Where(i => i >= expected.Length || i >= results.Length || expected[i] != results[i])
            .Select(i => $"line {i + 1}\n  etcd 3.4: {(i < expected.Length ? expected[i] : "(none)")}\n  {kind}: {(i < results.Length ? results[i] : "(none)")}")
            .ToArray();
        Assert.True(differences.Length == 0, $"{differences.Length} of {expected.Length} steps differ from etcd 3.4's:\n{string.Join('\n', differences)}" +
            (lines.Length > results.Length ? "\nother output:\n" + string.Join('\n', lines.Where(l => !l.StartsWith('{'))) : ""));
    }

    private static string SourceDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RaftKv.slnx"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("no RaftKv.slnx above the test output"), "tests", "RaftKv.Tests", "Apps");
    }
}

/// <summary>
/// A fact that needs Debian's python3 with etcd3gw (Debian python3-etcd3gw) and, for the etcd case, a real etcd (Debian
/// etcd-server); see <see cref="RequiresProgramFactAttribute"/> for when it skips or fails.
/// </summary>
public sealed class Etcd3gwFactAttribute(bool onEtcd = false) : RequiresProgramFactAttribute(Needs(onEtcd))
{
    private static Requirement[] Needs(bool onEtcd) =>
    [
        new("python3", "python3", Etcd3gwTests.PythonPath),
        new("etcd3gw", "python3-etcd3gw", Etcd3gwTests.ModulePath),
        .. onEtcd ? new Requirement[] { new("etcd", "etcd-server") } : [],
    ];
}
