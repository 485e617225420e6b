using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// The NuGet packages work for someone outside the repository (issue 17): <c>dotnet pack</c> puts the five library
/// packages in a temporary local feed, and a console project in a temporary directory, restoring from that feed (and
/// nuget.org for their dependencies), builds and runs a 3-node replicated counter on durable storage plus a seeded
/// simulation, printing what it saw.
/// </summary>
public sealed class PackageConsumerTests : IDisposable
{
    private static readonly string[] Libraries = ["Raft", "Raft.Storage", "Raft.Hosting", "Raft.Transport", "Raft.Testing"];
    private static readonly TimeSpan StepBound = TimeSpan.FromMinutes(4);
    private readonly string _root = Directory.CreateTempSubdirectory("raftkv-pack-").FullName;
    // A version of its own per run: the package cache never serves a stale package of an earlier run.
    private readonly string _version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var library in Libraries)
        {
            var id = Path.Combine(cache, "raftkv." + library.ToLowerInvariant());
            var dir = Path.Combine(id, _version);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            if (Directory.Exists(id) && !Directory.EnumerateFileSystemEntries(id).Any()) Directory.Delete(id);
        }
    }

    [NuGetFact]
    public async Task PackedLibraries_RestoreIntoAConsoleProject_ThatReplicatesACounterAndRunsASimulation()
    {
        var repo = RepositoryRoot();
        var feed = Directory.CreateDirectory(Path.Combine(_root, "feed")).FullName;
        // One pack over a temporary solution of the five projects: one build graph, one restore.
        var solution = Path.Combine(_root, "libraries.slnx");
        await File.WriteAllTextAsync(solution, "<Solution>\n" + string.Concat(Libraries.Select(l =>
            $"  <Project Path=\"{Path.GetRelativePath(_root, Path.Combine(repo, "src", l, l + ".csproj"))}\" />\n")) + "</Solution>\n");
        await RunAsync("dotnet", ["pack", solution, "-c", "Release", "-o", feed, $"-p:Version={_version}", "--nologo"], repo);
        foreach (var library in Libraries)
        {
            Assert.True(File.Exists(Path.Combine(feed, $"RaftKv.{library}.{_version}.nupkg")), $"no package for {library}");
            Assert.True(File.Exists(Path.Combine(feed, $"RaftKv.{library}.{_version}.snupkg")), $"no symbols package for {library}");
        }

        var consumer = Directory.CreateDirectory(Path.Combine(_root, "consumer")).FullName;
        await File.WriteAllTextAsync(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="RaftKv.Raft.Hosting" Version="{_version}" />
                <PackageReference Include="RaftKv.Raft.Storage" Version="{_version}" />
                <PackageReference Include="RaftKv.Raft.Transport" Version="{_version}" />
                <PackageReference Include="RaftKv.Raft.Testing" Version="{_version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), ConsumerProgram);
        var output = await RunAsync("dotnet", ["run", "-c", "Release", "--nologo"], consumer);

        Assert.Contains("leader elected", output);
        Assert.Contains("node 1: 6, node 2: 6, node 3: 6", output);
        Assert.Contains("transport: GrpcTransport", output);
        Assert.Contains("simulation: every node applied 'hello'", output);
    }

    // What a newcomer writes: three hosts on the in-memory network with durable storage, one write, a read on each.
    private const string ConsumerProgram = """
        using System.Buffers;
        using System.Buffers.Binary;
        using RaftKv.Raft;
        using RaftKv.Raft.Hosting;
        using RaftKv.Raft.Hosting.InMemory;
        using RaftKv.Raft.Storage;

        ulong[] ids = [1, 2, 3];
        var network = new InMemoryNetwork();
        var data = Path.Combine(Environment.CurrentDirectory, "data"); // inside the test's temporary directory
        var nodes = new List<(TypedRaftHost<long, long> Host, Counter Counter, DurableStorage Storage)>();
        foreach (var id in ids)
        {
            var storage = DurableStorage.Open(Path.Combine(data, id.ToString()));
            var counter = new Counter();
            var host = new TypedRaftHost<long, long>(new RaftHostOptions
            {
                // 50 ms ticks: elections after 0.5-1 s of silence, so a loaded test machine does not depose leaders.
                Raft = new RaftConfig { Id = id, Voters = ids, ElectionTimeoutTicks = 10 },
                TickInterval = TimeSpan.FromMilliseconds(50),
            }, storage, counter, new Int64Codec(), network.TransportFor(id));
            host.Start();
            nodes.Add((host, counter, storage));
        }
        async Task<TypedRaftHost<long, long>> LeaderAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!nodes.Any(n => n.Host.IsLeader) && DateTime.UtcNow < deadline) await Task.Delay(10);
            return nodes.First(n => n.Host.IsLeader).Host;
        }
        await LeaderAsync();
        Console.WriteLine("leader elected");
        foreach (var n in new long[] { 1, 2, 3 })
        {
            // A command refused with NotLeaderException was never appended: asking the new leader cannot apply it twice.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await (await LeaderAsync()).ProposeAsync(n);
                    break;
                }
                catch (NotLeaderException) when (attempt < 10)
                {
                }
            }
        }
        var values = new List<string>();
        foreach (var (host, counter, _) in nodes) values.Add($"node {host.Id}: {await host.ReadAsync(() => counter.Value)}");
        Console.WriteLine(string.Join(", ", values));
        Console.WriteLine($"transport: {typeof(RaftKv.Raft.Transport.GrpcTransport).Name}");
        foreach (var (host, _, storage) in nodes)
        {
            await host.DisposeAsync();
            storage.Dispose();
        }
        Directory.Delete(data, recursive: true);

        var cluster = new RaftKv.Raft.Testing.Cluster(3, seed: 7);
        cluster.WaitForLeader();
        cluster.Propose("hello");
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Applied.Contains("hello")), 500, "every node to apply the write");
        Console.WriteLine("simulation: every node applied 'hello'");

        sealed class Counter : IStateMachine<long, long>
        {
            private long _value;
            public long Value => Interlocked.Read(ref _value);
            public long Apply(long command, ulong index) => Interlocked.Add(ref _value, command);
            public IStateMachineSnapshot CaptureSnapshot() => new Snap(Value);
            public void Restore(Stream source)
            {
                var bytes = new byte[8];
                source.ReadExactly(bytes);
                _value = BinaryPrimitives.ReadInt64LittleEndian(bytes);
            }
            sealed class Snap(long value) : IStateMachineSnapshot
            {
                public long SizeHintBytes => 8;
                public void WriteTo(Stream destination)
                {
                    var bytes = new byte[8];
                    BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
                    destination.Write(bytes);
                }
            }
        }

        sealed class Int64Codec : ICommandCodec<long>
        {
            public void Encode(long value, IBufferWriter<byte> destination)
            {
                BinaryPrimitives.WriteInt64LittleEndian(destination.GetSpan(8), value);
                destination.Advance(8);
            }
            public long Decode(ReadOnlySpan<byte> source) => BinaryPrimitives.ReadInt64LittleEndian(source);
        }
        """;

    private static async Task<string> RunAsync(string file, string[] arguments, string directory)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        // No MSBuild nodes outlive the step (they would hold the temporary directories open after the test).
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(StepBound);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{file} {string.Join(' ', arguments)}' did not finish within {StepBound.TotalMinutes} min:\n{await stdout}");
        }
        var text = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"'{file} {string.Join(' ', arguments)}' in {directory} exited with {process.ExitCode}:\n{text}");
        return text;
    }

    private static string RepositoryRoot([CallerFilePath] string file = "") => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, "..", ".."));
}
