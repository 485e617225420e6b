using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Http;

/// <summary><c>/metrics</c> in Prometheus text format, with the metrics the issue asks for.</summary>
[Collection(HttpCollection.Name)]
public sealed class MetricsTests
{
    [Fact]
    public async Task Metrics_ParseAsPrometheusText_AndDescribeRaftAndRequests()
    {
        await using var cluster = await FaultCluster.StartAsync(allowFaults: false);
        var leader = await cluster.WaitForLeaderAsync();
        for (var i = 0; i < 5; i++) Assert.Equal(200, (await HttpJson.PutAsync($"{leader.HttpUrl}/v1/kv/metrics/{i}", "v")).Status);

        using var response = await HttpJson.Client.GetAsync($"{leader.HttpUrl}/metrics");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var (types, samples) = PrometheusText.Parse(await response.Content.ReadAsStringAsync());

        double Value(string name, string? label = null, string? value = null) =>
            samples.Single(s => s.Name == name && (label is null || s.Labels.GetValueOrDefault(label) == value)).Value;
        var status = (await leader.TryStatusAsync())!;
        Assert.Equal(status.Term, Value("raftkv_raft_term"));
        Assert.True(Value("raftkv_raft_commit_index") >= 6); // no-op + 5 puts
        Assert.True(Value("raftkv_raft_applied_index") >= 6);
        Assert.Equal(1, Value("raftkv_raft_role", "role", "leader"));
        Assert.Equal(0, Value("raftkv_raft_role", "role", "follower"));
        Assert.Equal(1, Value("raftkv_is_leader"));
        Assert.True(Value("raftkv_proposals_committed_total") >= 5);
        Assert.Equal(0, Value("raftkv_proposals_failed_total"));
        Assert.True(Value("raftkv_leader_changes_seen_total") >= 1);
        Assert.True(Value("raftkv_apply_lag_entries") >= 0);
        // The loop's work: each put was written (one fsync may cover several), sent to both followers, applied.
        Assert.True(Value("raftkv_wal_entries_total") >= 6);
        Assert.True(Value("raftkv_wal_entry_bytes_total") > 0);
        Assert.InRange(Value("raftkv_wal_fsyncs_total"), 1, Value("raftkv_wal_writes_total"));
        Assert.True(Value("raftkv_wal_write_seconds_total") > 0);
        Assert.True(Value("raftkv_append_entries_sent_total") >= 2 * 5);
        Assert.InRange(Value("raftkv_append_messages_sent_total"), 1, Value("raftkv_append_entries_sent_total"));
        Assert.True(Value("raftkv_entries_applied_total") >= 6);
        Assert.True(Value("raftkv_dotnet_allocated_bytes_total") > 0);
        Assert.True(Value("raftkv_process_cpu_seconds_total") > 0);
        Assert.True(Value("raftkv_dotnet_gc_collections_total", "generation", "0") >= 0);
        Assert.Equal("counter", types["raftkv_proposals_committed_total"]);
        Assert.Equal("histogram", types["raftkv_request_duration_seconds"]);
        Assert.Equal("histogram", types["raftkv_peer_round_trip_seconds"]);
        Assert.True(Value("raftkv_request_duration_seconds_count", "method", "/v1/kv/{**key}") >= 5);
        // Peers are pinged every 2 s; the histogram fills within a few rounds.
        await Poll.UntilAsync(async () =>
        {
            var (_, again) = PrometheusText.Parse(await HttpJson.Client.GetStringAsync($"{leader.HttpUrl}/metrics"));
            return again.Any(s => s.Name == "raftkv_peer_round_trip_seconds_count" && s.Value > 0);
        }, TimeSpan.FromSeconds(15), "a peer round trip to be measured");
    }

    [Fact]
    public void Parser_RejectsMalformedText()
    {
        Assert.Throws<FormatException>(() => PrometheusText.Parse("# TYPE x gauge\nx{a=\"1\" 2\n"));
        Assert.Throws<FormatException>(() => PrometheusText.Parse("y 1\n"));
        Assert.Throws<FormatException>(() => PrometheusText.Parse("# TYPE x gauge\nx one\n"));
        var (_, samples) = PrometheusText.Parse("# HELP x Help.\n# TYPE x gauge\nx{a=\"q\\\"uote\",b=\"2\"} 1.5e3\n");
        Assert.Equal(1500, Assert.Single(samples).Value);
    }
}
