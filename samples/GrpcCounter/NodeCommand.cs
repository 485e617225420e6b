using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using RaftKv.Raft;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Storage;
using RaftKv.Raft.Transport.AspNetCore;

namespace RaftKv.Samples.GrpcCounter;

/// <summary>One member: the Raft peer protocol on its peer port (HTTP/2), the counter's HTTP API on its API port.</summary>
public static class NodeCommand
{
    /// <summary>Runs a member until it is stopped (Ctrl+C, SIGTERM) or its parent process is gone.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var id = ulong.Parse(Option(args, "--id"), CultureInfo.InvariantCulture);
        // --members 1=http://127.0.0.1:7001|http://127.0.0.1:8001,2=...: each member's peer URL and API URL.
        var members = Option(args, "--members").Split(',').Select(m => m.Split('=', 2)).ToDictionary(
            m => ulong.Parse(m[0], CultureInfo.InvariantCulture), m => (Peer: new Uri(m[1].Split('|')[0]), Api: new Uri(m[1].Split('|')[1])));
        var data = Path.Combine(Option(args, "--data"), $"node-{id}");
        var self = members[id];

        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("raft", LogLevel.Information);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, self.Peer.Port, o => o.Protocols = HttpProtocols.Http2); // peers: gRPC needs HTTP/2
            k.Listen(IPAddress.Loopback, self.Api.Port, o => o.Protocols = HttpProtocols.Http1);  // clients: plain HTTP
        });
        var counter = new Counter();
        builder.Services.AddRaft<long, long>(o =>
        {
            o.NodeId = id;
            foreach (var (memberId, urls) in members) o.Members[memberId] = urls.Peer;
            // The log and snapshots survive a restart: a member that comes back has every entry it acknowledged.
            o.Storage = _ => DurableStorage.Open(data);
            o.StateMachine = _ => counter;
            o.Codec = new Int64Codec();
            o.TickInterval = TimeSpan.FromMilliseconds(50); // elections after 0.5-1 s of silence
            o.ConfigureHost = h => h with { SnapshotEveryEntries = 1000 };
        });
        var app = builder.Build();
        app.MapRaft().RequireHost($"*:{self.Peer.Port}");
        var host = app.Services.GetRequiredService<TypedRaftHost<long, long>>();
        MapApi(app, host, counter, members.ToDictionary(m => m.Key, m => m.Value.Api)).RequireHost($"*:{self.Api.Port}");

        using var parentGone = WatchParent(args, app.Lifetime);
        await app.RunAsync();
        return 0;
    }

    private static RouteGroupBuilder MapApi(WebApplication app, TypedRaftHost<long, long> host, Counter counter, Dictionary<ulong, Uri> apis)
    {
        var api = app.MapGroup("");
        api.MapPost("/add/{n:long}", async (long n, CancellationToken ct) =>
        {
            try
            {
                return Results.Text((await host.ProposeAsync(n, ct)).ToString(CultureInfo.InvariantCulture));
            }
            catch (NotLeaderException e) when (apis.TryGetValue(e.LeaderId, out var leader))
            {
                // 307 keeps the method: the client repeats the POST on the leader.
                return Results.Redirect(new Uri(leader, $"/add/{n}").ToString(), permanent: false, preserveMethod: true);
            }
            catch (RaftHostException e)
            {
                return Results.Problem(e.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        api.MapGet("/value", async (CancellationToken ct) =>
        {
            try
            {
                return Results.Text((await host.ReadAsync(() => counter.Value, ct)).ToString(CultureInfo.InvariantCulture));
            }
            catch (RaftHostException e)
            {
                return Results.Problem(e.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        api.MapGet("/status", () => Results.Json(new { id = host.Id, leader = host.LeaderId, term = host.Term, role = host.Role.ToString(), applied = host.AppliedIndex }));
        return api;
    }

    // A child of the cluster command stops when its parent is gone, so a killed parent leaves no orphans.
    private static Timer? WatchParent(string[] args, IHostApplicationLifetime lifetime)
    {
        if (OptionOrNull(args, "--parent") is not { } text) return null;
        var parent = Process.GetProcessById(int.Parse(text, CultureInfo.InvariantCulture));
        return new Timer(_ =>
        {
            if (parent.HasExited) lifetime.StopApplication();
        }, null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
    }

    internal static string Option(string[] args, string name) =>
        OptionOrNull(args, name) ?? throw new ArgumentException($"missing {name}");

    internal static string? OptionOrNull(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
