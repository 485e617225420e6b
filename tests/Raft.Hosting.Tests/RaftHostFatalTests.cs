using RaftKv.Raft.Hosting.InMemory;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// A failure the host cannot handle (storage, or a bug in the core of any exception type) stops the node loudly: the
/// loop ends, <see cref="RaftHost.Completion"/> carries the exception, waiting callers are failed, and disposing still
/// cleans up instead of throwing the exception a second time.
/// </summary>
public sealed class RaftHostFatalTests
{
    [Fact]
    public async Task AnUnexpectedExceptionStopsTheNode_AndDisposeStillCompletes()
    {
        var storage = new FailingStorage(new MemoryStorage());
        var host = new RaftHost(new RaftHostOptions
        {
            Raft = new RaftConfig { Id = 1, Voters = [1], ElectionTimeoutTicks = 10 },
            TickInterval = TimeSpan.FromMilliseconds(10),
        }, storage, new ListStateMachine(), new InMemoryNetwork().TransportFor(1));
        host.Start();

        // The single node elects itself and persists; then a save fails the way an indexing bug would.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (host.Status?.Role != RaftRole.Leader && stopwatch.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(10);
        Assert.Equal(RaftRole.Leader, host.Status?.Role);
        storage.Fail = new ArgumentOutOfRangeException("index", "a bug in the log's bookkeeping");
        var proposal = host.ProposeAsync("x"u8.ToArray()).AsTask();
        var fatal = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => host.Completion.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("bookkeeping", fatal.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NodeStoppedException>(() => proposal.WaitAsync(TimeSpan.FromSeconds(20)));
        await Assert.ThrowsAsync<NodeStoppedException>(() => host.ProposeAsync("y"u8.ToArray()).AsTask());
        await host.DisposeAsync();
    }

    private sealed class FailingStorage(MemoryStorage inner) : IRaftLogStorage
    {
        public volatile Exception? Fail;

        public HardState HardState => inner.HardState;

        public ConfState? ConfState => inner.ConfState;

        public ulong FirstIndex => inner.FirstIndex;

        public ulong LastIndex => inner.LastIndex;

        public Snapshot? Snapshot => inner.Snapshot;

        public LogLookup TryGetTerm(ulong index, out ulong term) => inner.TryGetTerm(index, out term);

        public LogLookup GetEntries(ulong low, ulong high, long maxBytes, List<Entry> into) => inner.GetEntries(low, high, maxBytes, into);

        public void Save(HardState? hardState, IReadOnlyList<Entry> entries, Snapshot? snapshot, bool mustSync)
        {
            if (Fail is { } e) throw e;
            inner.Save(hardState, entries, snapshot, mustSync);
        }

        public Snapshot CreateSnapshot(ulong index, ConfState confState, ReadOnlyMemory<byte> data) => inner.CreateSnapshot(index, confState, data);

        public StagedSnapshot StageSnapshot(SnapshotMetadata metadata, ReadOnlyMemory<byte> data) => inner.StageSnapshot(metadata, data);

        public Snapshot? PublishSnapshot(StagedSnapshot staged) => inner.PublishSnapshot(staged);

        public void DiscardSnapshot(StagedSnapshot staged) => inner.DiscardSnapshot(staged);
    }
}
