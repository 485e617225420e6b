namespace RaftKv.Raft.Storage.Tests.Support;

/// <summary>
/// Random but valid storage operations, as a Raft node would issue them: appends (sometimes replacing an uncommitted
/// suffix, sometimes in a new term), commit-only hard states without sync, snapshots taken locally (compaction) and
/// snapshots received from a leader. Applied to the storage and, when given, to a <see cref="MemoryStorage"/> model.
/// </summary>
public sealed class RandomWorkload(Random random)
{
    private static readonly ConfState Voters = new([1, 2, 3]);

    /// <summary>Performs one operation. Returns what it did and whether it synced (everything so far is durable).</summary>
    public (string What, bool Synced) Step(DurableStorage storage, MemoryStorage? model)
    {
        var hs = storage.HardState;
        var first = storage.FirstIndex;
        var last = storage.LastIndex;
        var snapIndex = first - 1;
        var roll = random.NextDouble();
        if (roll < 0.25 && hs.Commit < last)
        {
            var commit = hs.Commit + 1 + (ulong)random.NextInt64((long)(last - hs.Commit));
            var next = hs with { Commit = commit };
            storage.Save(next, [], null, mustSync: false);
            model?.SetHardState(next);
            return ($"commit {commit}", false);
        }
        if (roll < 0.33 && hs.Commit > snapIndex)
        {
            var index = snapIndex + 1 + (ulong)random.NextInt64((long)(hs.Commit - snapIndex));
            var data = Data.Bytes(random, random.Next(0, 600));
            storage.CreateSnapshot(index, Voters, data);
            model?.CreateSnapshot(index, Voters, data);
            return ($"create snapshot {index}", true);
        }
        if (roll < 0.37)
        {
            var term = hs.Term + (ulong)random.Next(0, 2);
            if (term == 0) term = 1;
            var index = last + 1 + (ulong)random.Next(0, 5);
            var snapshot = new Snapshot(new SnapshotMetadata(index, term, Voters), Data.Bytes(random, random.Next(0, 600)));
            var entries = Data.Entries(index + 1, random.Next(0, 4), term, random, maxBytes: 300);
            var next = new HardState(term, term == hs.Term ? hs.Vote : 0, index);
            storage.Save(next, entries, snapshot, mustSync: true);
            if (model is not null)
            {
                model.ApplySnapshot(snapshot);
                model.Append(entries);
                model.SetHardState(next);
            }
            return ($"install snapshot {index}/{term} + {entries.Length} entries", true);
        }
        {
            var term = hs.Term;
            var vote = hs.Vote;
            if (term == 0 || random.NextDouble() < 0.2)
            {
                term++;
                vote = (ulong)random.Next(0, 4);
            }
            var from = last + 1;
            var lowest = Math.Max(hs.Commit + 1, first);
            if (last >= lowest && random.NextDouble() < 0.3) from = lowest + (ulong)random.NextInt64((long)(last + 2 - lowest));
            var maxBytes = random.NextDouble() < 0.05 ? 1500 : 400;
            var entries = Data.Entries(from, random.Next(1, 7), term, random, maxBytes);
            var next = new HardState(term, vote, hs.Commit);
            storage.Save(next, entries, null, mustSync: true);
            if (model is not null)
            {
                model.Append(entries);
                model.SetHardState(next);
            }
            return ($"append {from}..{entries[^1].Index} term {term}", true);
        }
    }
}
