using RaftKv.Raft;
using RaftKv.Raft.Hosting;

namespace RaftKv.Kv;

// TEMPORARY until src/Kv lands (same session): counts applied entries so the node can run.
internal sealed class EtcdStateMachine(long quotaBytes) : IStateMachine
{
    private ulong _applied;
    public long QuotaBytes { get; } = quotaBytes;
    public object? Apply(in Entry entry) { _applied = entry.Index; return entry.Index; }
    public ReadOnlyMemory<byte> TakeSnapshot() => BitConverter.GetBytes(_applied);
    public void Restore(ReadOnlyMemory<byte> snapshot) => _applied = BitConverter.ToUInt64(snapshot.Span);
}
