using System.Text;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Raft.Storage.Tests;

public sealed class Crc32CTests
{
    [Fact]
    public void Matches_the_standard_check_value()
    {
        // The CRC-32C "check" value: CRC of the ASCII digits 1..9 (RFC 3720 appendix B.4 / the CRC catalogue).
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
        // RFC 3720 B.4: 32 bytes of zeros.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
    }

    [Fact]
    public void Appending_equals_computing_over_the_concatenation()
    {
        var random = new Random(7);
        var data = new byte[1000];
        random.NextBytes(data);
        var whole = Crc32C.Compute(data);
        for (var split = 0; split <= data.Length; split += 37)
            Assert.Equal(whole, Crc32C.Append(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split)));
        Assert.NotEqual(whole, Crc32C.Compute(Encoding.ASCII.GetBytes("different")));
    }
}
