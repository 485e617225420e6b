using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Snapshots;

/// <summary>
/// An immutable copy of everything a snapshot holds, taken from a <see cref="MvccState"/> in one O(versions) pass
/// of reference and struct copies: the scalars, the alarms, the cluster record, the keys in key order, and every version of every key
/// (oldest first) in one flat array, key <c>k</c> owning <c>[starts[k], starts[k + 1])</c>. Nothing here points
/// into the live state's mutable structures (compaction shifts history arrays in place), only to keys and values,
/// which are immutable <see cref="ByteString"/>s; so it can be read from any thread while the store moves on.
/// </summary>
internal sealed class FrozenState
{
    private readonly (ulong MemberId, AlarmType Type)[] alarms;
    private readonly ByteString[] keys;
    private readonly int[] starts;
    private readonly RevisionEntry[] entries;
    private readonly Leases.LeaseEntry[] leases;

    private FrozenState(MvccState state, (ulong MemberId, AlarmType Type)[] alarms, ByteString[] keys, int[] starts, RevisionEntry[] entries)
    {
        leases = [.. state.LeaseTable.All()]; // O(leases); the attachments are rebuilt from the keys on restore
        AppliedIndex = state.AppliedIndex;
        CurrentRevision = state.CurrentRevision;
        CompactRevision = state.CompactRevision;
        ClusterRecord = state.ClusterRecord; // immutable: the state replaces it whole, never in place
        AuthRecord = state.AuthRecord; // likewise
        this.alarms = alarms;
        this.keys = keys;
        this.starts = starts;
        this.entries = entries;
    }

    public ulong AppliedIndex { get; }

    public long CurrentRevision { get; }

    public long CompactRevision { get; }

    /// <summary>The server's opaque cluster record; empty when none was set.</summary>
    public ReadOnlyMemory<byte> ClusterRecord { get; }

    /// <summary>The auth record; empty when auth was never configured.</summary>
    public ReadOnlyMemory<byte> AuthRecord { get; }

    /// <summary>The raised alarms in (member, type) order.</summary>
    public ReadOnlySpan<(ulong MemberId, AlarmType Type)> Alarms => alarms;

    public int KeyCount => keys.Length;

    /// <summary>The granted leases in id order, with their checkpointed remaining TTLs.</summary>
    public ReadOnlySpan<Leases.LeaseEntry> Leases => leases;

    public long VersionCount => entries.Length;

    /// <summary>The <paramref name="index"/>-th key in key order.</summary>
    public ByteString Key(int index) => keys[index];

    /// <summary>The versions of the <paramref name="index"/>-th key, oldest first.</summary>
    public ReadOnlySpan<RevisionEntry> Versions(int index) => entries.AsSpan(starts[index], starts[index + 1] - starts[index]);

    /// <summary>
    /// Copies <paramref name="state"/>; the caller holds off writers for the duration, so this touches only what it
    /// must (not even the values' lengths).
    /// </summary>
    /// <exception cref="InvalidOperationException">When the index disagrees with the state's key or version count.</exception>
    public static FrozenState Capture(MvccState state)
    {
        var keyCount = state.Keys.Count;
        var versionCount = state.EntryCount;
        if (versionCount < 0 || versionCount > Array.MaxLength)
        {
            throw new InvalidOperationException($"{versionCount} versions do not fit one snapshot array");
        }

        var alarms = new (ulong MemberId, AlarmType Type)[state.Alarms.Count];
        var a = 0;
        foreach (var alarm in state.Alarms.All)
        {
            alarms[a++] = alarm;
        }

        var keys = new ByteString[keyCount];
        var starts = new int[keyCount + 1];
        var entries = new RevisionEntry[versionCount];
        int k = 0, n = 0;
        var cursor = state.Keys.First();
        while (cursor.Next(out var history))
        {
            if (k == keyCount || history.Count > entries.Length - n)
            {
                throw new InvalidOperationException(
                    $"the index holds more than its {keyCount} keys / {versionCount} versions");
            }

            keys[k] = history.Key;
            starts[k++] = n;
            for (var i = 0; i < history.Count; i++)
            {
                entries[n++] = history[i];
            }
        }

        if (k != keyCount || n != entries.Length)
        {
            throw new InvalidOperationException(
                $"the index holds {k} keys / {n} versions, the state counts {keyCount} / {versionCount}");
        }

        starts[k] = n;
        return new FrozenState(state, alarms, keys, starts, entries);
    }
}
