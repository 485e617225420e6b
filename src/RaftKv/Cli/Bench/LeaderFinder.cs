using Grpc.Core;
using RaftKv.Etcd.Api;

namespace RaftKv.Cli.Bench;

/// <summary>Finds the leader's client URL among the endpoints with Maintenance.Status (header.member_id == leader).</summary>
public static class LeaderFinder
{
    /// <summary>What the endpoints said.</summary>
    /// <param name="Leader">The leader's endpoint, or null when none of the answering members knows of one among the endpoints.</param>
    /// <param name="Answered">Endpoints that answered Status.</param>
    /// <param name="Failures">Endpoint and error for each endpoint that did not.</param>
    public sealed record Result(Uri? Leader, IReadOnlyList<Uri> Answered, IReadOnlyList<string> Failures);

    /// <summary>Asks every endpoint once, in parallel, each bounded by <paramref name="timeout"/>.</summary>
    public static async Task<Result> ProbeAsync(IReadOnlyList<Uri> endpoints, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var probes = endpoints.Select(async e =>
        {
            using var channel = ChannelSet.Open(e);
            try
            {
                var status = await new Maintenance.MaintenanceClient(channel)
                    .StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken)
                    .ConfigureAwait(false);
                return (Endpoint: e, Status: status, Error: (string?)null);
            }
            catch (RpcException ex)
            {
                return (Endpoint: e, Status: (StatusResponse?)null, Error: $"{e}: {ex.StatusCode} {ex.Status.Detail}");
            }
        }).ToArray();
        var results = await Task.WhenAll(probes).ConfigureAwait(false);
        var answered = results.Where(r => r.Status is not null).ToArray();
        var leaderId = answered.Select(r => r.Status!.Leader).FirstOrDefault(id => id != 0);
        var leader = answered.FirstOrDefault(r => leaderId != 0 && r.Status!.Header?.MemberId == leaderId).Endpoint;
        return new Result(leader, answered.Select(r => r.Endpoint).ToArray(), results.Where(r => r.Error is not null).Select(r => r.Error!).ToArray());
    }

    /// <summary>
    /// Probes until a leader shows up among the endpoints or <paramref name="patience"/> runs out: members that answer
    /// without a leader are probably electing one. When no endpoint answers at all it gives up at once.
    /// </summary>
    public static async Task<Result> FindAsync(IReadOnlyList<Uri> endpoints, TimeSpan patience, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + patience;
        while (true)
        {
            var result = await ProbeAsync(endpoints, TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            if (result.Leader is not null || result.Answered.Count == 0 || DateTime.UtcNow >= until) return result;
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }
}
