using System.Buffers.Binary;
using RaftKv.Fuzz.Tests.Engine;
using RaftKv.Raft;
using RaftKv.Raft.Storage;

namespace RaftKv.Fuzz.Tests.Targets;

/// <summary>
/// The WAL reader (<see cref="StorageTarget.Wal"/>) or the snapshot reader (<see cref="StorageTarget.Snapshots"/>) on
/// damaged disks. A data directory is written once with the real writer (<see cref="DurableStorage"/>, small segments,
/// two snapshots); an input is that directory's files, framed in a fixed order (a missing part is a missing file), and
/// the mutators damage the files of the target's kind: bit flips, length fields set to boundary values, torn tails
/// (truncated, or zeroed to the end as a preallocated segment looks), frames copied from elsewhere, files dropped,
/// duplicated or swapped. Each execution lays the files in a fresh directory and opens it.
/// Invariants: open either succeeds or throws <see cref="StorageCorruptException"/> (nothing else); what it returns
/// is what was written: every entry equals the one written at its index, the hard state is one that was written, the
/// snapshot is one that was written (index, term, membership and data).
/// </summary>
public sealed class StorageTarget : IFuzzTarget
{
    private const int SegmentHeaderBytes = 32;
    private const int FrameHeaderBytes = 16;
    private readonly bool _snapshots;
    private readonly Written _written;
    // On tmpfs when there is one: recovery syncs files and directories, which costs nothing there (3x the executions).
    private readonly string _scratch = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(),
        $"raftkv-fuzz-storage-{Environment.ProcessId}-{Guid.NewGuid():N}");
    private long _runs;

    private StorageTarget(bool snapshots)
    {
        _snapshots = snapshots;
        _written = Written.Create(Path.Combine(_scratch, "base"));
    }

    /// <summary>Options small enough that a hundred entries span several 4 KiB segments.</summary>
    public static StorageOptions Options { get; } = new()
    {
        SegmentSizeBytes = 4096, MaxRecordSizeBytes = 2048, WriteBufferSizeBytes = 4096, MaxSnapshotSizeBytes = 1024 * 1024, PreallocateSegments = true,
    };

    /// <summary>Damage to the log segments.</summary>
    public static StorageTarget Wal() => new(snapshots: false);

    /// <summary>Damage to the snapshot files.</summary>
    public static StorageTarget Snapshots() => new(snapshots: true);

    public string Name => _snapshots ? "snapshot" : "wal";

    public IReadOnlyList<byte[]> Seeds() => [Framing.Encode(_written.Files.Select(f => f.Bytes))];

    public byte[] Generate(Random random, IReadOnlyList<byte[]> corpus)
    {
        var files = Framing.Decode(corpus[random.Next(corpus.Count)]);
        while (files.Count < _written.Files.Count) files.Add([]);
        var mine = Enumerable.Range(0, _written.Files.Count).Where(i => _written.Files[i].IsSnapshot == _snapshots).ToArray();
        var steps = 1 + random.Next(3);
        for (var s = 0; s < steps; s++)
        {
            var i = mine[random.Next(mine.Length)];
            files[i] = MutateFile(random, files[i], files, mine);
        }
        return Framing.Encode(files);
    }

    private static byte[] MutateFile(Random random, byte[] file, List<byte[]> files, int[] mine)
    {
        var frames = FrameOffsets(file);
        var frame = frames.Count > 0 ? frames[random.Next(frames.Count)] : SegmentHeaderBytes;
        switch (random.Next(9))
        {
            case 0: // torn tail: cut inside or at the start of a frame
                return file.AsSpan(0, Math.Min(file.Length, frame + random.Next(FrameHeaderBytes + 8))).ToArray();
            case 1: // torn tail of a preallocated segment: zeros from there on
                {
                    var copy = (byte[])file.Clone();
                    var from = Math.Min(copy.Length, frame + random.Next(FrameHeaderBytes + 8));
                    Array.Clear(copy, from, copy.Length - from);
                    return copy;
                }
            case 2 when file.Length >= frame + 4: // a frame's length field set to a boundary value
                {
                    var copy = (byte[])file.Clone();
                    BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(frame), (uint)Mutator.InterestingValue(random));
                    return copy;
                }
            case 3: // a frame copied from another file of the same kind over this one
                {
                    var other = files[mine[random.Next(mine.Length)]];
                    var otherFrames = FrameOffsets(other);
                    if (otherFrames.Count == 0) return file;
                    var from = otherFrames[random.Next(otherFrames.Count)];
                    var length = Math.Min(FrameLength(other, from), Math.Min(other.Length - from, file.Length - frame));
                    if (length <= 0) return file;
                    var copy = (byte[])file.Clone();
                    other.AsSpan(from, length).CopyTo(copy.AsSpan(frame));
                    return copy;
                }
            case 4: // the file is missing
                return [];
            case 5: // the file is another file of its kind (a duplicated or swapped segment)
                return (byte[])files[mine[random.Next(mine.Length)]].Clone();
            default:
                return Mutator.Mutate(random, file, files);
        }
    }

    // Offsets of the frames of a segment (empty for a file that is not one), walking the length fields while they fit.
    private static List<int> FrameOffsets(byte[] file)
    {
        var offsets = new List<int>();
        var at = SegmentHeaderBytes;
        while (at + FrameHeaderBytes <= file.Length && offsets.Count < 4096)
        {
            var length = FrameLength(file, at);
            if (length <= FrameHeaderBytes || (long)at + length > file.Length) break;
            offsets.Add(at);
            at += length;
        }
        return offsets;
    }

    private static int FrameLength(byte[] file, int at) =>
        at + 4 <= file.Length ? (int)Math.Min(int.MaxValue - 64, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at))) + FrameHeaderBytes : 0;

    public void Run(ReadOnlySpan<byte> input)
    {
        var parts = Framing.Decode(input);
        var dir = Path.Combine(_scratch, $"run{_runs++ % 4}");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        for (var i = 0; i < _written.Files.Count && i < parts.Count; i++)
        {
            if (parts[i].Length == 0) continue;
            var path = Path.Combine(dir, _written.Files[i].RelativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, parts[i]);
        }
        DurableStorage storage;
        try
        {
            storage = DurableStorage.Open(dir, Options);
        }
        catch (StorageCorruptException e)
        {
            if (string.IsNullOrEmpty(e.FilePath)) throw new FuzzFindingException($"corruption reported without a file: {e.Message}");
            Outcomes.Note("refused: StorageCorruptException");
            return;
        }
        using (storage)
        {
            _written.Check(storage);
            Outcomes.Note(storage.LastIndex == _written.LastIndex ? "opened: whole log" : "opened: a prefix");
        }
    }

    /// <summary>What the real writer wrote: the files, and the entries, hard states and snapshots they hold.</summary>
    private sealed record Written(List<(string RelativePath, bool IsSnapshot, byte[] Bytes)> Files, Dictionary<ulong, Entry> Entries,
        List<HardState> HardStates, List<Snapshot> Snapshots, ulong LastIndex)
    {
        public static Written Create(string dir)
        {
            var random = new Random(18);
            var entries = new Dictionary<ulong, Entry>();
            var hardStates = new List<HardState> { new(0, 0, 0) };
            var snapshots = new List<Snapshot>();
            var conf = new ConfState([1, 2, 3], [], [], false);
            ulong next = 1;
            using (var storage = DurableStorage.Open(dir, Options))
            {
                for (var batch = 0; batch < 24; batch++)
                {
                    var term = 1 + (ulong)batch / 8;
                    var batchEntries = Enumerable.Range(0, 1 + random.Next(5)).Select(_ =>
                    {
                        var data = new byte[random.Next(0, 300)];
                        random.NextBytes(data);
                        return new Entry(next++, term, random.Next(8) == 0 ? EntryType.ConfChange : EntryType.Normal, data);
                    }).ToArray();
                    foreach (var e in batchEntries) entries[e.Index] = e;
                    var hardState = new HardState(term, 1, next - 1);
                    hardStates.Add(hardState);
                    storage.Save(hardState, batchEntries, null, mustSync: true);
                    if (batch is 10 or 18)
                    {
                        var state = new byte[random.Next(100, 2000)];
                        random.NextBytes(state);
                        snapshots.Add(storage.CreateSnapshot(next - 3, conf, state));
                        storage.DrainHousekeeping();
                    }
                }
            }
            var files = new List<(string, bool, byte[])>();
            foreach (var sub in new[] { DurableStorage.WalDirectoryName, DurableStorage.SnapshotDirectoryName })
            {
                foreach (var path in Directory.GetFiles(Path.Combine(dir, sub)).Order(StringComparer.Ordinal))
                    files.Add((Path.GetRelativePath(dir, path), sub == DurableStorage.SnapshotDirectoryName, File.ReadAllBytes(path)));
            }
            return new Written(files, entries, hardStates, snapshots, next - 1);
        }

        public void Check(DurableStorage storage)
        {
            if (!HardStates.Contains(storage.HardState)) throw new FuzzFindingException($"recovered hard state {storage.HardState} was never written");
            if (storage.Snapshot is { } snapshot && !Snapshots.Any(s => Same(s, snapshot)))
                throw new FuzzFindingException($"recovered snapshot at index {snapshot.Index} term {snapshot.Term} ({snapshot.Data.Length} bytes) was never written");
            if (storage.LastIndex > LastIndex) throw new FuzzFindingException($"recovered last index {storage.LastIndex} is past the last written {LastIndex}");
            if (storage.FirstIndex > storage.LastIndex + 1) throw new FuzzFindingException($"first index {storage.FirstIndex} > last index {storage.LastIndex} + 1");
            var into = new List<Entry>();
            for (var low = storage.FirstIndex; low <= storage.LastIndex; low += (ulong)into.Count)
            {
                into.Clear();
                if (storage.GetEntries(low, storage.LastIndex + 1, long.MaxValue, into) != LogLookup.Ok || into.Count == 0)
                    throw new FuzzFindingException($"entries from {low} to {storage.LastIndex} are announced but cannot be read");
                foreach (var e in into)
                {
                    if (!Entries.TryGetValue(e.Index, out var w) || w.Term != e.Term || w.Type != e.Type || !w.Data.Span.SequenceEqual(e.Data.Span))
                        throw new FuzzFindingException($"recovered entry {e.Index} (term {e.Term}, {e.Data.Length} bytes) is not the one written there");
                }
            }
        }

        private static bool Same(Snapshot a, Snapshot b) =>
            a.Index == b.Index && a.Term == b.Term && a.Data.Span.SequenceEqual(b.Data.Span)
            && a.Metadata.ConfState.Voters.SequenceEqual(b.Metadata.ConfState.Voters) && a.Metadata.ConfState.Learners.SequenceEqual(b.Metadata.ConfState.Learners);
    }

    /// <summary>Deletes the scratch directories.</summary>
    public void Cleanup()
    {
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
            // a leftover in the temp directory is harmless
        }
    }
}
