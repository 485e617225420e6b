namespace RaftKv.Raft.Transport.Tests;

/// <summary>The receiver's stream adapter: bounded buffering, the end only after Complete, refusal as InvalidDataException.</summary>
public sealed class PayloadStreamTests
{
    [Fact]
    public async Task The_writer_waits_once_the_buffer_holds_its_capacity_of_chunks()
    {
        using var stream = new PayloadStream(2, CancellationToken.None);
        await stream.WriteChunkAsync(new byte[10], CancellationToken.None);
        await stream.WriteChunkAsync(new byte[10], CancellationToken.None);
        var third = stream.WriteChunkAsync(new byte[10], CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted); // the third chunk waits: never more than the capacity in memory

        Assert.Equal(10, stream.Read(new byte[100]));
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        stream.Complete();
        Assert.Equal(20, ReadToEnd(stream));
        Assert.True(stream.ReachedEnd);
    }

    [Fact]
    public async Task Reads_end_only_after_Complete_and_throw_InvalidDataException_after_Fail()
    {
        using var failed = new PayloadStream(4, CancellationToken.None);
        await failed.WriteChunkAsync(new byte[] { 1, 2, 3 }, CancellationToken.None);
        failed.Fail("chunk 1 is corrupt");
        var buffer = new byte[2];
        Assert.Equal(2, failed.Read(buffer)); // what was checked before the failure may still be read...
        Assert.Equal(1, failed.Read(buffer));
        Assert.Equal("chunk 1 is corrupt", Assert.Throws<InvalidDataException>(() => failed.Read(buffer)).Message); // ...but no end
        Assert.False(failed.ReachedEnd);
    }

    [Fact]
    public async Task A_blocked_read_is_cancelled_by_the_token()
    {
        using var cancel = new CancellationTokenSource();
        using var stream = new PayloadStream(4, cancel.Token);
        var read = Task.Run(() => stream.Read(new byte[8]));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private static int ReadToEnd(Stream stream)
    {
        var total = 0;
        var buffer = new byte[7];
        for (int n; (n = stream.Read(buffer)) > 0;) total += n;
        return total;
    }
}
