using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;

namespace RaftKv.Cli.Bench;

/// <summary>
/// <c>raftkv bench</c>: a load generator speaking the etcd v3 gRPC API (so it runs unchanged against etcd), plus
/// the machine's own limits (raw fdatasync, no-op loopback RPC) for comparison.
/// </summary>
public static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var workload = new Option<string>("--workload", "-w")
        {
            Description = "put | range | txn | mixed | status (Maintenance.Status) | peer-ping (raftkv peer URLs: no-op RPC) | fsync (local 4 KiB write + fdatasync) | " +
                "watch (events/s to --watchers watchers under puts at --rate) | watch-idle (memory of --watchers idle watchers, --rss-pid) | " +
                "lease-expire (time until --leases leases' keys are gone after their TTL) | lease-keepalive (keep-alives/s)",
            DefaultValueFactory = _ => BenchWorkloads.Put,
        };
        workload.AcceptOnlyFromAmong(BenchWorkloads.All);
        var endpoints = new Option<string>("--endpoints") { Description = "Comma-separated host:port or http(s)://host:port", DefaultValueFactory = _ => "127.0.0.1:2379" };
        endpoints.Validators.Add(r => { if (!EndpointList.TryParse(r.GetValueOrDefault<string>() ?? "", out _, out var e)) r.AddError(e); });
        var target = new Option<string>("--target") { Description = "leader: every connection to the leader (found with Maintenance.Status); all: connections spread over the endpoints", DefaultValueFactory = _ => "leader" };
        target.AcceptOnlyFromAmong("leader", "all");
        var clients = Positive(new Option<int>("--clients") { Description = "Logical clients; in open loop (--rate), the cap on outstanding requests", DefaultValueFactory = _ => 1 });
        var conns = Positive(new Option<int>("--conns") { Description = "gRPC connections (channels), shared round-robin by the clients", DefaultValueFactory = _ => 1 });
        var total = Positive(new Option<long?>("--total") { Description = "Requests to issue (default 10000 when --duration is not given)" });
        var duration = new Option<TimeSpan?>("--duration")
        {
            Description = $"How long to issue requests (500ms, 10s, 2m); at most {BenchSettings.MaxDuration.TotalMinutes:F0} minutes",
            CustomParser = ParseDuration,
        };
        var rate = new Option<double?>("--rate") { Description = "Open loop: requests per second over all clients, latency timed from each request's scheduled start" };
        rate.Validators.Add(r => { if (r.GetValueOrDefault<double?>() is { } v && !(v > 0 && double.IsFinite(v))) r.AddError($"--rate must be positive, was {v}"); });
        var keySize = Positive(new Option<int>("--key-size") { Description = "Key size in bytes", DefaultValueFactory = _ => 8 });
        var valSize = new Option<int>("--val-size") { Description = "Value size in bytes", DefaultValueFactory = _ => 8 };
        valSize.Validators.Add(r => { var v = r.GetValueOrDefault<int>(); if (v is < 0 or > MaxValueBytes) r.AddError($"--val-size must be between 0 and {MaxValueBytes}, was {v}"); });
        var keySpace = Positive(new Option<long>("--key-space") { Description = "Number of distinct keys", DefaultValueFactory = _ => 10_000 });
        var sequential = new Option<bool>("--sequential-keys") { Description = "Keys 0, 1, 2, ... instead of random ones" };
        var consistency = new Option<string>("--consistency") { Description = "Reads: l (linearizable) or s (serializable)", DefaultValueFactory = _ => "l" };
        consistency.AcceptOnlyFromAmong("l", "s");
        var readRatio = new Option<double>("--read-ratio") { Description = "mixed: fraction of requests that are reads", DefaultValueFactory = _ => 0.9 };
        readRatio.Validators.Add(r => { var v = r.GetValueOrDefault<double>(); if (v is < 0 or > 1 || double.IsNaN(v)) r.AddError($"--read-ratio must be between 0 and 1, was {v}"); });
        var casKeys = Positive(new Option<int>("--cas-keys") { Description = "txn: number of counters (cas/0 .. cas/N-1) clients contend on", DefaultValueFactory = _ => 10 });
        var prefill = new Option<bool>("--prefill") { Description = "range, mixed: write every key of the key space once before measuring" };
        var timeout = new Option<TimeSpan>("--request-timeout") { Description = "Deadline of each request", DefaultValueFactory = _ => TimeSpan.FromSeconds(10), CustomParser = r => ParseDuration(r) ?? default };
        var fsyncDir = new Option<string>("--fsync-dir") { Description = "fsync: directory of the scratch file (use the servers' disk)", DefaultValueFactory = _ => Path.GetTempPath() };
        var watchers = Positive(new Option<int>("--watchers") { Description = "watch, watch-idle: watchers over all streams", DefaultValueFactory = _ => 1000 });
        var streams = Positive(new Option<int>("--streams") { Description = "watch, watch-idle, lease-keepalive: gRPC streams (spread round-robin over --conns channels)", DefaultValueFactory = _ => 1 });
        var leases = Positive(new Option<int>("--leases") { Description = "lease-expire, lease-keepalive: leases to grant", DefaultValueFactory = _ => 10_000 });
        var leaseTtl = Positive(new Option<long>("--lease-ttl") { Description = "lease-expire, lease-keepalive: TTL in seconds (servers raise it to their minimum)", DefaultValueFactory = _ => 10 });
        var inFlight = Positive(new Option<int>("--in-flight") { Description = "lease-keepalive: keep-alive requests outstanding per stream", DefaultValueFactory = _ => 64 });
        var rssPid = Positive(new Option<int?>("--rss-pid") { Description = "watch-idle: pid of the member serving the watchers (its /proc/PID/status VmRSS is sampled)" });
        var output = new Option<string>("--output", "-o") { Description = "text or json (one JSON object on stdout)", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "json");
        var quiet = new Option<bool>("--no-progress") { Description = "No progress line on stderr" };
        var cacert = new Option<string>("--cacert") { Description = "https:// endpoints: the CA that signed the servers' certificates (as etcdctl)" };
        var cert = new Option<string>("--cert") { Description = "https:// endpoints: client certificate (as etcdctl)" };
        var key = new Option<string>("--key") { Description = "https:// endpoints: the client certificate's key (as etcdctl)" };

        var command = new Command("bench", "Load generator for etcd v3 API servers (raftkv or etcd): throughput, latency percentiles, histogram")
        {
            workload, endpoints, target, clients, conns, total, duration, rate, keySize, valSize, keySpace, sequential,
            consistency, readRatio, casKeys, prefill, timeout, fsyncDir, watchers, streams, leases, leaseTtl, inFlight, rssPid,
            output, quiet, cacert, cert, key,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            EndpointList.TryParse(parse.GetValue(endpoints)!, out var endpointList, out _);
            try
            {
                BenchTls.Configure(parse.GetValue(cacert), parse.GetValue(cert), parse.GetValue(key));
            }
            catch (FormatException e)
            {
                await Console.Error.WriteLineAsync($"bench: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            var settings = new BenchSettings
            {
                Workload = parse.GetValue(workload)!,
                Endpoints = endpointList,
                LeaderOnly = parse.GetValue(target) == "leader",
                Clients = parse.GetValue(clients),
                Connections = parse.GetValue(conns),
                Total = parse.GetValue(total) ?? (parse.GetValue(duration) is null ? DefaultTotal : null),
                Duration = parse.GetValue(duration),
                RatePerSecond = parse.GetValue(rate),
                KeySizeBytes = parse.GetValue(keySize),
                ValueSizeBytes = parse.GetValue(valSize),
                KeySpace = parse.GetValue(keySpace),
                SequentialKeys = parse.GetValue(sequential),
                Serializable = parse.GetValue(consistency) == "s",
                ReadRatio = parse.GetValue(readRatio),
                CasKeys = parse.GetValue(casKeys),
                Prefill = parse.GetValue(prefill),
                RequestTimeout = parse.GetValue(timeout),
                FsyncDirectory = parse.GetValue(fsyncDir)!,
                Watchers = parse.GetValue(watchers),
                Streams = parse.GetValue(streams),
                Leases = parse.GetValue(leases),
                LeaseTtlSeconds = parse.GetValue(leaseTtl),
                InFlight = parse.GetValue(inFlight),
                RssPid = parse.GetValue(rssPid),
                Json = parse.GetValue(output) == "json",
                Progress = !parse.GetValue(quiet),
            };
            var errors = settings.Validate();
            if (errors.Count > 0)
            {
                // Checks across options run here: System.CommandLine's command validators see unset options as default(T).
                foreach (var e in errors) await Console.Error.WriteLineAsync($"bench: {e}").ConfigureAwait(false);
                return 1;
            }
            // Ctrl+C stops issuing and prints what was measured so far (the root command leaves signals to commands).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            return await new BenchRunner(settings, Console.Out, Console.Error).RunAsync(stop.Token).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Requests per run when neither --total nor --duration is given.</summary>
    public const long DefaultTotal = 10_000;

    /// <summary>etcd's default --max-request-bytes (1.5 MiB) bounds a put's value.</summary>
    public const int MaxValueBytes = 1536 * 1024;

    private static TimeSpan? ParseDuration(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        var name = result.Parent is OptionResult o ? o.Option.Name : "duration";
        if (!DurationText.TryParse(text, out var value, out var error))
        {
            result.AddError($"{name}: {error}");
            return null;
        }
        if (value > BenchSettings.MaxDuration)
        {
            // Every run is bounded: a typo must not leave a load generator hammering a shared machine for hours.
            result.AddError($"{name} is at most {BenchSettings.MaxDuration.TotalMinutes:F0} minutes, was {text}");
            return null;
        }
        return value;
    }

    private static Option<T> Positive<T>(Option<T> option)
    {
        option.Validators.Add(r =>
        {
            var value = r.GetValueOrDefault<T>();
            if (value is not null && Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) <= 0) r.AddError($"{option.Name} must be positive, was {value}");
        });
        return option;
    }
}
