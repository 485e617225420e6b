using System.Text;
using RaftKv.Server.Http2;

namespace RaftKv.Tests.Server;

public sealed class AuthorityNormalizerTests
{
    [Theory]
    [InlineData("")]
    [InlineData("127.0.0.1:2379")]
    [InlineData("localhost")]
    [InlineData("etcd-0.etcd_svc.example~x:1")]
    [InlineData("[::1]:2379")]
    [InlineData("[fe80::1.2.3.4]")]
    public void PlainAuthorities_AreLeftAlone(string value) => Assert.True(AuthorityNormalizer.IsPlainAuthority(Encoding.ASCII.GetBytes(value)));

    [Theory]
    [InlineData("http://127.0.0.1:2379", "127.0.0.1:2379")]
    [InlineData("https://[::1]:2379/", "[::1]:2379")]
    [InlineData("http://user:pw@host:1/path?q#f", "host:1")]
    [InlineData("unix:///var/run/etcd.sock", "127.0.0.1:2379")] // nothing left: the connected address
    [InlineData("/csi/csi.sock", "127.0.0.1:2379")]
    [InlineData("host:port", "127.0.0.1:2379")]
    [InlineData("host:123456", "127.0.0.1:2379")]
    [InlineData("bad host", "127.0.0.1:2379")]
    [InlineData("[::1", "127.0.0.1:2379")]
    public void OtherValues_BecomePlain(string value, string expected)
    {
        var bytes = Encoding.Latin1.GetBytes(value);
        Assert.False(AuthorityNormalizer.IsPlainAuthority(bytes));
        Assert.Equal(expected, Encoding.ASCII.GetString(AuthorityNormalizer.Normalize(bytes, "127.0.0.1:2379")));
    }
}
