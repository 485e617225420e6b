namespace RaftKv.Raft.Hosting;

/// <summary>
/// The node's durable log as the host uses it: the core reads it through <see cref="IRaftStorage"/>, the host
/// writes each <see cref="Ready"/> into it.
/// </summary>
/// <remarks>Called only from the host's loop thread.</remarks>
public interface IRaftLogStore : IRaftStorage
{
    /// <summary>
    /// Persists a Ready's snapshot, entries (replacing any conflicting suffix from the first one) and hard state,
    /// in that order, and makes them durable with one fsync when <paramref name="mustSync"/> is true. When this
    /// returns, everything passed is readable through <see cref="IRaftStorage"/>.
    /// </summary>
    void Save(HardState? hardState, IReadOnlyList<Entry> entries, Snapshot? snapshot, bool mustSync);

    /// <summary>Records a snapshot the state machine took at <paramref name="index"/> and releases the log before it.</summary>
    void CreateSnapshot(ulong index, ConfState confState, ReadOnlyMemory<byte> data);
}

/// <summary>An in-memory <see cref="IRaftLogStore"/> for tests and ephemeral nodes: nothing survives the process.</summary>
public sealed class MemoryLogStore : IRaftLogStore
{
    private readonly MemoryStorage _storage = new();

    /// <inheritdoc />
    public HardState HardState => _storage.HardState;
    /// <inheritdoc />
    public ConfState? ConfState => _storage.ConfState;
    /// <inheritdoc />
    public ulong FirstIndex => _storage.FirstIndex;
    /// <inheritdoc />
    public ulong LastIndex => _storage.LastIndex;
    /// <inheritdoc />
    public Snapshot? Snapshot => _storage.Snapshot;
    /// <inheritdoc />
    public LogLookup TryGetTerm(ulong index, out ulong term) => _storage.TryGetTerm(index, out term);
    /// <inheritdoc />
    public LogLookup GetEntries(ulong low, ulong high, long maxBytes, List<Entry> into) => _storage.GetEntries(low, high, maxBytes, into);

    /// <inheritdoc />
    public void Save(HardState? hardState, IReadOnlyList<Entry> entries, Snapshot? snapshot, bool mustSync)
    {
        if (snapshot is not null) _storage.ApplySnapshot(snapshot);
        _storage.Append(entries);
        if (hardState is { } hs) _storage.SetHardState(hs);
    }

    /// <inheritdoc />
    public void CreateSnapshot(ulong index, ConfState confState, ReadOnlyMemory<byte> data) => _storage.CreateSnapshot(index, confState, data);
}
