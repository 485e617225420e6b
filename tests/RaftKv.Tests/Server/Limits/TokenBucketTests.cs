using RaftKv.Server.Limits;

namespace RaftKv.Tests.Server.Limits;

/// <summary>The bucket behind the connection and request limits: a burst, then the rate, never more than the burst saved.</summary>
public sealed class TokenBucketTests
{
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks { get; set; } = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;

        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }

    private static int Take(TokenBucket bucket, int tries) => Enumerable.Range(0, tries).Count(_ => bucket.TryTake());

    [Fact]
    public void ABurstIsAdmitted_ThenOnlyTheRate()
    {
        var time = new ManualTime();
        var bucket = new TokenBucket(ratePerSecond: 10, burst: 5, time);
        Assert.Equal(5, Take(bucket, 100));
        time.Advance(TimeSpan.FromMilliseconds(250)); // 2.5 tokens
        Assert.Equal(2, Take(bucket, 100));
        time.Advance(TimeSpan.FromMilliseconds(50)); // 0.5 left over + 0.5
        Assert.Equal(1, Take(bucket, 100));
    }

    [Fact]
    public void AnIdleBucket_SavesNoMoreThanItsBurst()
    {
        var time = new ManualTime();
        var bucket = new TokenBucket(ratePerSecond: 1000, burst: 3, time);
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(3, Take(bucket, 100));
    }

    [Fact]
    public void AClockThatDoesNotMove_AddsNothing()
    {
        var time = new ManualTime();
        var bucket = new TokenBucket(ratePerSecond: 1_000_000, burst: 1, time);
        Assert.True(bucket.TryTake());
        Assert.False(bucket.TryTake());
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-1, 1)]
    [InlineData(1, 0.5)]
    public void NonsenseRatesAndBursts_AreRefused(double rate, double burst) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(rate, burst, TimeProvider.System));
}
