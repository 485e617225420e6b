using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using RaftKv.Etcd.Api;

namespace RaftKv.Cli.Client;

/// <summary>
/// <c>raftkv lease grant TTL | revoke ID | keep-alive ID [--count N] | ttl ID [--keys] | list</c> over the etcd v3 Lease
/// API. Lease ids are shown and read in hex, as etcdctl shows them.
/// </summary>
internal static class LeaseCommands
{
    /// <summary>Keep-alive renews a third of the TTL apart, as clientv3 does, but at least this often (and at most every 0.5 s).</summary>
    private static readonly TimeSpan KeepAliveIntervalMax = TimeSpan.FromSeconds(60);

    public static Command Create()
    {
        var lease = new Command("lease", "Grant, revoke, keep alive and inspect leases (etcd v3 Lease)");
        lease.Subcommands.Add(Grant());
        lease.Subcommands.Add(Revoke());
        lease.Subcommands.Add(KeepAlive());
        lease.Subcommands.Add(TimeToLive());
        lease.Subcommands.Add(List());
        return lease;
    }

    private static Argument<string> IdArgument()
    {
        var id = new Argument<string>("id") { Description = "The lease id, in hex (as etcdctl prints it)" };
        id.Validators.Add(r =>
        {
            var text = r.GetValueOrDefault<string>() ?? "";
            if (!long.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value) || value == 0)
                r.AddError($"'{text}' is not a lease id in hex");
        });
        return id;
    }

    private static long ParseId(string text) =>
        long.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id) && id != 0
            ? id : throw new FormatException($"'{text}' is not a lease id in hex");

    private static string Hex(long id) => id.ToString("x", CultureInfo.InvariantCulture);

    private static Command Grant()
    {
        var options = new ClientOptions();
        var ttl = new Argument<long>("ttl") { Description = "Time to live, in seconds (raised to the cluster's minimum)" };
        var command = new Command("grant", "Grant a lease") { ttl };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("lease grant", parse, options, async (endpoints, json) =>
        {
            var request = new LeaseGrantRequest { TTL = parse.GetValue(ttl) };
            var (response, _) = await endpoints.FirstAsync((c, o) => new Lease.LeaseClient(c).LeaseGrantAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
            if (json) ClientCommands.WriteJson(new { id = Hex(response.ID), ttl = response.TTL, revision = response.Header.Revision });
            else Console.Out.Write($"lease {Hex(response.ID)} granted with TTL({response.TTL}s)\n");
            return 0;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var options = new ClientOptions();
        var id = IdArgument();
        var command = new Command("revoke", "Revoke a lease, deleting every key attached to it") { id };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("lease revoke", parse, options, async (endpoints, json) =>
        {
            var leaseId = ParseId(parse.GetValue(id)!);
            var request = new LeaseRevokeRequest { ID = leaseId };
            var (response, _) = await endpoints.FirstAsync((c, o) => new Lease.LeaseClient(c).LeaseRevokeAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
            if (json) ClientCommands.WriteJson(new { id = Hex(leaseId), revision = response.Header.Revision });
            else Console.Out.Write($"lease {Hex(leaseId)} revoked\n");
            return 0;
        }));
        return command;
    }

    private static Command KeepAlive()
    {
        var options = new ClientOptions();
        var id = IdArgument();
        var count = new Option<int>("--count") { Description = "Renew this many times, then stop (0: until Ctrl+C)", DefaultValueFactory = _ => 0 };
        count.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0) r.AddError("--count must be 0 or more");
        });
        var command = new Command("keep-alive", "Keep a lease alive, renewing it a third of its TTL apart") { id, count };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("lease keep-alive", parse, options, async (endpoints, json) =>
        {
            var leaseId = ParseId(parse.GetValue(id)!);
            var limit = parse.GetValue(count);
            var renewals = 0;
            try
            {
                while (limit == 0 || renewals < limit)
                {
                    // One renewal per unary-shaped exchange on a short stream: any endpoint may answer the next one.
                    var (ttl, _) = await endpoints.FirstAsync(async (c, o) =>
                    {
                        using var stream = new Lease.LeaseClient(c).LeaseKeepAlive(o);
                        await stream.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = leaseId }, ct).ConfigureAwait(false);
                        if (!await stream.ResponseStream.MoveNext(ct).ConfigureAwait(false))
                            throw new RpcException(new Status(StatusCode.Unavailable, "the keep-alive stream closed without an answer"));
                        await stream.RequestStream.CompleteAsync().ConfigureAwait(false);
                        return stream.ResponseStream.Current.TTL;
                    }, ct).ConfigureAwait(false);
                    renewals++;
                    if (ttl <= 0)
                    {
                        await Console.Error.WriteLineAsync($"lease {Hex(leaseId)} expired or revoked").ConfigureAwait(false);
                        return 1;
                    }
                    if (json) ClientCommands.WriteJson(new { id = Hex(leaseId), ttl });
                    else Console.Out.Write($"lease {Hex(leaseId)} keepalived with TTL({ttl})\n");
                    if (limit != 0 && renewals >= limit) break;
                    await Task.Delay(TimeSpan.FromSeconds(Math.Clamp(ttl / 3.0, 0.5, KeepAliveIntervalMax.TotalSeconds)), ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl+C
            }
            return 0;
        }));
        return command;
    }

    private static Command TimeToLive()
    {
        var options = new ClientOptions();
        var id = IdArgument();
        var keys = new Option<bool>("--keys") { Description = "Also list the keys attached to the lease" };
        var command = new Command("ttl", "Show a lease's remaining and granted TTL") { id, keys };
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("lease ttl", parse, options, async (endpoints, json) =>
        {
            var request = new LeaseTimeToLiveRequest { ID = ParseId(parse.GetValue(id)!), Keys = parse.GetValue(keys) };
            var (response, _) = await endpoints.FirstAsync((c, o) => new Lease.LeaseClient(c).LeaseTimeToLiveAsync(request, o).ResponseAsync, ct).ConfigureAwait(false);
            var attached = response.Keys.Select(k => k.ToStringUtf8()).ToArray();
            if (json)
            {
                ClientCommands.WriteJson(new { id = Hex(response.ID), ttl = response.TTL, grantedTtl = response.GrantedTTL, keys = attached });
                return 0;
            }
            if (response.TTL == -1)
            {
                Console.Out.Write($"lease {Hex(response.ID)} already expired\n");
                return 0;
            }
            var table = new Table("LEASE", "TTL", "GRANTED TTL", "KEYS");
            table.Add(Hex(response.ID), response.TTL, response.GrantedTTL, request.Keys ? string.Join(",", attached) : "-");
            Console.Out.Write(table.ToString());
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var options = new ClientOptions();
        var command = new Command("list", "List the granted leases");
        options.AddTo(command);
        command.SetAction((parse, ct) => ClientCommands.RunAsync("lease list", parse, options, async (endpoints, json) =>
        {
            var (response, _) = await endpoints.FirstAsync((c, o) => new Lease.LeaseClient(c).LeaseLeasesAsync(new LeaseLeasesRequest(), o).ResponseAsync, ct).ConfigureAwait(false);
            var ids = response.Leases.Select(l => Hex(l.ID)).ToArray();
            if (json)
            {
                ClientCommands.WriteJson(new { count = ids.Length, leases = ids });
                return 0;
            }
            Console.Out.Write($"found {ids.Length} leases\n");
            foreach (var lease in ids) Console.Out.Write(lease + "\n");
            return 0;
        }));
        return command;
    }
}
