using Etcdserverpb;
using Google.Protobuf;
using RaftKv.Server.Gateway;

namespace RaftKv.Tests.Gateway;

/// <summary>
/// Long integers in gateway requests stay exact: Google.Protobuf's JsonParser reads bare numbers as doubles, so the
/// gateway quotes integers of 16 or more digits first (etcd3gw sends lease ids as bare numbers; see Apps/Etcd3gwTests).
/// </summary>
public sealed class JsonLargeIntegersTests
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    [Fact]
    public void A_lease_id_above_2_to_the_53_survives_parsing()
    {
        const string json = """{"ID": 611542006080185859}""";
        Assert.NotEqual(611542006080185859, Parser.Parse<LeaseRevokeRequest>(json).ID); // why the quoting exists
        Assert.Equal("""{"ID": "611542006080185859"}""", JsonLargeIntegers.Quote(json));
        Assert.Equal(611542006080185859, Parser.Parse<LeaseRevokeRequest>(JsonLargeIntegers.Quote(json)).ID);
    }

    [Fact]
    public void Negative_and_nested_long_integers_are_quoted()
    {
        var json = """{"compare":[{"key":"YQ==","target":"MOD","mod_revision":-9223372036854775808}],"success":[{"request_put":{"key":"YQ==","lease":7587862072907000001}}]}""";
        var txn = Parser.Parse<TxnRequest>(JsonLargeIntegers.Quote(json));
        Assert.Equal(long.MinValue, txn.Compare[0].ModRevision);
        Assert.Equal(7587862072907000001, txn.Success[0].RequestPut.Lease);
    }

    [Theory]
    [InlineData("""{"key":"YQ==","sort_order":1,"limit":"10"}""")] // short numbers and enums given as numbers stay bare
    [InlineData("""{"key":"MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=","note":"12345678901234567890"}""")] // digits inside strings
    [InlineData("""{"ratio":1.2345678901234567,"big":1e300}""")] // not integers
    [InlineData("""{"ID": 12345678901234567""")] // not JSON: left for the protobuf parser to report
    public void Everything_else_is_left_as_it_is(string json) => Assert.Same(json, JsonLargeIntegers.Quote(json));
}
