using RaftKv.Cli.Bench;

namespace RaftKv.Tests.Bench;

/// <summary>Go's duration syntax, as etcd's flags (and --auth-token's ttl) take it: compound values included.</summary>
public sealed class DurationTextTests
{
    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("10s", 10)]
    [InlineData("2m", 120)]
    [InlineData("1h30m", 5400)]
    [InlineData("1.5h", 5400)]
    [InlineData("2h45m30.5s", 9930.5)]
    [InlineData("1m30s", 90)]
    [InlineData("250us", 0.00025)]
    [InlineData("250µs", 0.00025)]
    [InlineData("30", 30)]
    [InlineData(" 5m ", 300)]
    public void GoDurations_Parse(string text, double seconds)
    {
        Assert.True(DurationText.TryParse(text, out var duration, out var error), error);
        Assert.Equal(seconds, duration.TotalSeconds, precision: 9);
    }

    [Theory]
    [InlineData("", "is not a duration")]
    [InlineData("soon", "is not a duration")]
    [InlineData("3x", "is not a duration")]
    [InlineData("1h30", "is not a duration")] // a number without its unit after the first part
    [InlineData("m30", "is not a duration")]
    [InlineData("-5s", "is not a duration")]
    [InlineData("1..5s", "is not a duration")]
    [InlineData("0s", "must be a positive duration")]
    [InlineData("0h0m", "must be a positive duration")]
    [InlineData("99999999999999999999h", "must be a positive duration")]
    public void NonDurations_AreRefusedWithAReason(string text, string expected)
    {
        Assert.False(DurationText.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void AHugeText_IsRefusedWithoutBeingEchoedWhole()
    {
        Assert.False(DurationText.TryParse(new string('1', 10_000) + "s", out _, out var error));
        Assert.True(error.Length < 200, error);
    }
}
