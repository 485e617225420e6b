using System.Net;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// A fact that restores packages from nuget.org unless the local package cache already has them. Outside CI it is
/// Skipped, saying why, when the cache lacks a dependency and nuget.org's name does not resolve (no network); in CI
/// (<c>CI=true</c>) it always runs, so a CI run cannot go green by skipping it.
/// </summary>
public sealed class NuGetFactAttribute : FactAttribute
{
    /// <summary>Packages the consumer project needs from nuget.org, by id and version (lower case, as in the cache).</summary>
    private static readonly (string Id, string Version)[] Dependencies =
    [
        ("microsoft.extensions.logging.abstractions", "10.0.0"),
        ("system.io.hashing", "10.0.0"),
        ("grpc.aspnetcore", "2.85.0"),
        ("grpc.net.client", "2.85.0"),
        ("google.protobuf", "3.36.2"),
    ];

    public NuGetFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CI") == "true") return;
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        if (Dependencies.All(d => Directory.Exists(Path.Combine(cache, d.Id, d.Version)))) return;
        if (!NuGetResolves()) Skip = $"no network: the package cache ({cache}) lacks the consumer's dependencies and api.nuget.org does not resolve";
    }

    private static bool NuGetResolves()
    {
        try
        {
            return Dns.GetHostAddressesAsync("api.nuget.org").Wait(TimeSpan.FromSeconds(3));
        }
        catch (AggregateException)
        {
            return false;
        }
    }
}
