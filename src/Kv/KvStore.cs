using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Engine;
using RaftKv.Kv.Execution;
using RaftKv.Kv.Hashing;
using RaftKv.Kv.Mvcc;
using RaftKv.Kv.Snapshots;

namespace RaftKv.Kv;

/// <summary>
/// The multi-version key-value state machine with etcd v3 semantics. Writes arrive only through
/// <see cref="Apply(ulong, KvCommand)"/>, one committed Raft entry at a time, so every member holding the same log
/// holds the same state and returns the same responses; reads (<see cref="Range"/>, <see cref="ReadOnlyTxn"/>,
/// hashes, snapshots, events) may run concurrently from other threads and see whole entries only.
/// </summary>
/// <remarks>
/// Thread model: one applier thread, any number of readers, serialized by a reader-writer lock (a snapshot holds off
/// the applier only while <see cref="CaptureSnapshot"/> copies the state, not while it is written). All responses
/// are fresh objects except the key-value messages inside them, which may be shared with
/// <see cref="ApplyResult.Events"/>: treat them as read-only.
/// </remarks>
public sealed class KvStore : IDisposable
{
    private readonly IKvEngine engine;
    private readonly CommandApplier applier;
    private readonly KvRequestValidator validator;

    /// <summary>Creates an empty store held in memory (revision 1, nothing compacted, nothing applied).</summary>
    public KvStore(KvStoreOptions? options = null)
        : this(options ?? new KvStoreOptions(), new MemoryEngine())
    {
    }

    /// <summary>
    /// Opens the store kept on disk at <paramref name="directory"/> (a RocksDB backend, created when missing): the
    /// state is read in place, nothing is rebuilt, and <see cref="AppliedIndex"/> says which log entries it holds.
    /// </summary>
    /// <exception cref="Backend.BackendFormatException">When the directory holds something that is not a store of this format.</exception>
    public static KvStore OpenOnDisk(string directory, KvStoreOptions? options = null, Backend.KvBackendOptions? backendOptions = null) =>
        new(options ?? new KvStoreOptions(), DiskEngine.Open(directory, backendOptions ?? Backend.KvBackendOptions.Default));

    /// <summary>
    /// As <see cref="OpenOnDisk(string, KvStoreOptions?, Backend.KvBackendOptions?)"/> with a lower limit on one entry's
    /// writes and on the changes one compaction step visits, for tests.
    /// </summary>
    internal static KvStore OpenOnDiskWithLimit(
        string directory, KvStoreOptions? options, Backend.KvBackendOptions? backendOptions, int operationsMax, int compactionStepChanges = DiskApplyState.ChangesPerStep)
    {
        var engine = DiskEngine.Open(directory, backendOptions ?? Backend.KvBackendOptions.Default);
        engine.OperationsLimit = operationsMax;
        engine.CompactionStepChanges = compactionStepChanges;
        return new KvStore(options ?? new KvStoreOptions(), engine);
    }

    private KvStore(KvStoreOptions options, IKvEngine engine)
    {
        options.Validate();
        Options = options;
        this.engine = engine;
        applier = new CommandApplier(options.CollectEvents);
        validator = new KvRequestValidator(options);
    }

    /// <summary>The limits this store was created with.</summary>
    public KvStoreOptions Options { get; }

    /// <summary>The current store revision (1 when empty).</summary>
    public long Revision => engine.Scalars.CurrentRevision;

    /// <summary>The last compaction revision; -1 when never compacted.</summary>
    public long CompactRevision => engine.Scalars.CompactRevision;

    /// <summary>
    /// Whether a committed compaction still has versions to delete: the disk engine carries a compaction of more than
    /// a step's worth of changes out in later entries, which the leader proposes as
    /// <see cref="KvCommand.CompactionStep"/> commands while this is true. Reads never show those versions.
    /// </summary>
    public bool CompactionPending => engine.Scalars.CompactionPending;

    /// <summary>Index of the last Raft entry applied (0 before any).</summary>
    public ulong AppliedIndex => engine.Scalars.AppliedIndex;

    /// <summary>Estimated size in bytes, the figure the quota is checked against (etcd's db size in use).</summary>
    public long SizeBytes => engine.Scalars.SizeBytes;

    /// <summary>Number of retained versions, tombstones included.</summary>
    public long VersionCount => engine.Scalars.EntryCount;

    /// <summary>How many leases are granted.</summary>
    public long LeaseCount => engine.Read(view => view.Leases.Count);

    /// <summary>The first <paramref name="maxLeases"/> granted leases in id order (etcd's LeaseLeases, bounded).</summary>
    public IReadOnlyList<Leases.LeaseInfo> Leases(int maxLeases)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLeases);
        return engine.Read(view => view.Leases.All().Take(maxLeases).Select(l => new Leases.LeaseInfo(l.Id, l.TtlSeconds, l.RemainingTtlSeconds)).ToList());
    }

    /// <summary>Lease <paramref name="id"/> as granted; null when no such lease exists (never granted, revoked or expired).</summary>
    public Leases.LeaseInfo? FindLease(long id) =>
        engine.Read(view => view.Leases.TryGet(id, out var lease) ? new Leases.LeaseInfo(id, lease.TtlSeconds, lease.RemainingTtlSeconds) : null);

    /// <summary>The first <paramref name="maxKeys"/> keys attached to lease <paramref name="id"/>, in key order; empty for an unknown lease.</summary>
    public IReadOnlyList<ByteString> LeaseKeys(long id, int maxKeys)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxKeys);
        return engine.Read(view => view.Leases.Keys(id).Take(maxKeys).ToList());
    }

    /// <summary>The raised alarms in (member, type) order.</summary>
    public IReadOnlyList<AlarmMember> Alarms => engine.Read(view => view.Alarms.Get(AlarmType.None));

    /// <summary>
    /// Applies one committed Raft entry holding an encoded <see cref="KvCommand"/>. Bytes that do not parse are
    /// refused with <see cref="KvError.MalformedCommand"/> (still advancing the applied index).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="raftIndex"/> is not above <see cref="AppliedIndex"/>.</exception>
    public ApplyResult Apply(ulong raftIndex, ReadOnlySpan<byte> command)
    {
        KvCommand parsed;
        try
        {
            parsed = KvCommand.Parser.ParseFrom(command);
        }
        catch (InvalidProtocolBufferException)
        {
            return engine.Apply(state => CommandApplier.Malformed(state, raftIndex));
        }

        return Apply(raftIndex, parsed);
    }

    /// <summary>
    /// Applies a committed entry unless the store holds it already, and says which: null when
    /// <paramref name="raftIndex"/> is at or below <see cref="AppliedIndex"/> (a snapshot installed meanwhile brought
    /// the store past it, or a restarted member replays the log its store kept). The check and the apply are one step,
    /// so a snapshot switched in concurrently cannot make an entry apply twice.
    /// </summary>
    public ApplyResult? ApplyIfNew(ulong raftIndex, ReadOnlySpan<byte> command)
    {
        KvCommand? parsed = null;
        try
        {
            parsed = KvCommand.Parser.ParseFrom(command);
        }
        catch (InvalidProtocolBufferException)
        {
        }

        return engine.Apply(state => state.AppliedIndex >= raftIndex ? null
            : parsed is null ? CommandApplier.Malformed(state, raftIndex) : applier.Apply(state, raftIndex, parsed));
    }

    /// <summary>Like <see cref="MarkApplied"/>, for an entry without a command; false when the store held it already.</summary>
    public bool MarkAppliedIfNew(ulong raftIndex) => engine.Apply(state =>
    {
        if (state.AppliedIndex >= raftIndex)
        {
            return false;
        }

        state.SetApplied(raftIndex);
        return true;
    });

    /// <summary>The cluster record as of the last applied entry; empty when none was ever set.</summary>
    /// <remarks>
    /// Opaque to the store: the server's membership (member names, peer URLs, learners, removed ids), replicated with
    /// the applied index and carried by snapshots. The bytes are shared with the store: do not change them.
    /// </remarks>
    public ReadOnlyMemory<byte> ClusterRecord => engine.Read(view => view.ClusterRecord);

    /// <summary>The replicated auth state (users, roles, enabled, revision) as of the last applied entry.</summary>
    /// <remarks>Immutable; decoded once per change of the record, so cheap to read on every request.</remarks>
    public Auth.AuthState Auth => readerAuthCache.Get(engine.Read(view => view.AuthRecord));

    private readonly Auth.AuthCache readerAuthCache = new();

    /// <summary>Most bytes a cluster record (and the auth record) may have (64 KiB).</summary>
    public const int ClusterRecordMaxBytes = 64 * 1024;

    /// <summary>
    /// Sets the cluster record as the whole effect of the entry at <paramref name="raftIndex"/> (applied index set to
    /// it in the same atomic write, revision unchanged, no watch events), unless the store already holds that index
    /// (returns false, nothing changes). <paramref name="record"/> is copied; an empty one clears the record.
    /// </summary>
    /// <exception cref="ArgumentException">When <paramref name="record"/> is longer than <see cref="ClusterRecordMaxBytes"/>.</exception>
    public bool SetClusterRecordIfNew(ulong raftIndex, ReadOnlySpan<byte> record)
    {
        Mvcc.ClusterRecordLength.ThrowIfTooLong(record.Length, nameof(record));
        var copy = record.ToArray(); // the store's own, never changed: readers and snapshots share it
        return engine.Apply(state =>
        {
            if (state.AppliedIndex >= raftIndex)
            {
                return false;
            }

            var revision = state.CurrentRevision;
            state.SetApplied(raftIndex);
            state.SetClusterRecord(copy);
            if (state.CurrentRevision != revision)
            {
                throw new InvalidOperationException($"setting the cluster record moved the revision from {revision} to {state.CurrentRevision}");
            }

            return true;
        });
    }

    /// <summary>Whether the state lives on disk (<see cref="OpenOnDisk"/>) rather than in memory.</summary>
    public bool IsOnDisk => engine is DiskEngine;

    /// <summary>
    /// What the state takes on its medium (etcd's db size): the disk engine's files, or <see cref="SizeBytes"/> in
    /// memory. The quota is checked against <see cref="SizeBytes"/>, the same on every member.
    /// </summary>
    public long PhysicalSizeBytes => engine is DiskEngine disk ? disk.PhysicalSizeBytes : SizeBytes;

    /// <summary>
    /// Disk engine: makes every applied entry durable (so the Raft log below <see cref="AppliedIndex"/> may be
    /// released). In memory there is nothing to make durable: a snapshot is the durable copy.
    /// </summary>
    public void FlushDurable() => (engine as DiskEngine)?.FlushDurable();

    /// <summary>Disk engine: compacts the files online (etcd's defragment, which there stops the world); nothing in memory.</summary>
    public void Defragment() => (engine as DiskEngine)?.CompactPhysically();

    /// <summary>
    /// Disk engine: installs a snapshot stream written by <see cref="WriteSnapshot(Stream)"/> of another member when it is ahead
    /// of this store: built and verified in a staging directory first, then switched in atomically (a crash leaves the
    /// old state or the new). Returns the snapshot's applied index; the store then holds at least that index.
    /// </summary>
    /// <exception cref="KvSnapshotCorruptException">The stream is damaged or truncated; nothing changed.</exception>
    /// <exception cref="InvalidOperationException">The store is in memory.</exception>
    public ulong ReceiveSnapshot(Stream source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var disk = engine as DiskEngine ?? throw new InvalidOperationException("only a store on disk receives snapshots as streams");
        return disk.Receive(source, onlyIfNewer: true, cancellationToken).AppliedIndex;
    }

    /// <summary>Applies one committed Raft entry; the result is identical on every member.</summary>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="raftIndex"/> is not above <see cref="AppliedIndex"/>.</exception>
    public ApplyResult Apply(ulong raftIndex, KvCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return engine.Apply(state => applier.Apply(state, raftIndex, command));
    }

    /// <summary>
    /// etcd's quota check, made before a command is proposed, never when it is applied: NOSPACE when a put (or the
    /// more expensive branch of a txn) would take this member's <see cref="SizeBytes"/> to
    /// <see cref="KvStoreOptions.QuotaBytes"/>; null otherwise. The caller then raises the NOSPACE alarm through the
    /// log (an ACTIVATE alarm command), so every member refuses puts from the same entry on.
    /// </summary>
    public KvError? CheckQuota(KvCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var cost = Validation.QuotaCost.Of(command);
        return cost > 0 && SizeBytes + cost >= Options.EffectiveQuotaBytes ? KvError.NoSpace : null;
    }

    /// <summary>Records that a Raft entry without a command (an empty or configuration entry) was applied.</summary>
    public void MarkApplied(ulong raftIndex) => engine.Apply(state =>
    {
        state.SetApplied(raftIndex);
        return 0;
    });

    /// <summary>Serves a range read from this member's state (serializable; linearizable once the caller has waited for its read index).</summary>
    /// <exception cref="KvException">With etcd's error for bad input or an unreadable revision.</exception>
    public RangeResponse Range(RangeRequest request)
    {
        ThrowIfError(KvRequestValidator.ValidateRange(request));
        RangeResponse? response = null;
        var error = engine.Read(state => RangeExecutor.Execute(state, request, state.CurrentRevision, out response));
        ThrowIfError(error);
        return response!;
    }

    /// <summary>
    /// Starts etcd 3.7's RangeStream: checks <paramref name="request"/> as <see cref="Range"/> does (and refuses
    /// orders other than by key, ascending), pins its revision now (the newest unless it names one), and returns the
    /// reader of its chunks. Serializable; linearizable once the caller has waited for its read index.
    /// </summary>
    /// <exception cref="KvException">With etcd's error for bad input, an unreadable revision or an unsupported order.</exception>
    public RangeStreamReader OpenRangeStream(RangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var copy = request.Clone(); // the reader keeps it; the caller's message may change
        long revision = 0;
        var error = engine.Read(view => RangeStreamReader.Pin(view, copy, out revision));
        ThrowIfError(error);
        return new RangeStreamReader(engine, copy, revision);
    }

    /// <summary>Serves a txn without puts or deletes in any branch from this member's state, as etcd does.</summary>
    /// <exception cref="KvException">With etcd's error for bad input or an unreadable revision.</exception>
    /// <exception cref="ArgumentException">When the txn could write: propose it instead.</exception>
    public TxnResponse ReadOnlyTxn(TxnRequest request)
    {
        ThrowIfError(validator.ValidateTxn(request));
        if (!KvRequestValidator.IsReadOnly(request))
        {
            throw new ArgumentException("the txn has puts or deletes; it must go through the log", nameof(request));
        }

        var outcome = engine.Read<object>(state =>
        {
            var plan = TxnExecutor.Plan(state, request, state.CurrentRevision);
            if (TxnExecutor.Check(state, plan) is { } error)
            {
                return error;
            }

            var txn = TxnExecutor.Execute(state, plan, writer: null, state.CurrentRevision);
            txn.Header.Revision = state.CurrentRevision;
            return txn;
        });
        return outcome as TxnResponse ?? throw new KvException((KvError)outcome);
    }

    /// <summary>
    /// etcd's HashKV: a hash of every version visible at or below <paramref name="revision"/> (0 = current), with
    /// the compact revision, so members at the same revision can be compared.
    /// </summary>
    /// <exception cref="KvException">Compacted or future revision.</exception>
    public HashKVResponse HashKV(long revision)
    {
        var outcome = engine.Read<object>(state =>
        {
            if (revision > state.CurrentRevision)
            {
                return KvError.FutureRevision;
            }

            var at = revision <= 0 ? state.CurrentRevision : revision;
            if (at < state.CompactRevision)
            {
                return KvError.Compacted;
            }

            return new HashKVResponse
            {
                Header = new ResponseHeader { Revision = state.CurrentRevision },
                Hash = StateHasher.HashKV(state, at),
                CompactRevision = state.CompactRevision,
                HashRevision = at,
            };
        });
        return outcome as HashKVResponse ?? throw new KvException((KvError)outcome);
    }

    /// <summary>
    /// A hash of the whole state: applied index, revisions, alarms, the cluster record (when one is set; as etcd's
    /// Hash covers the members bucket) and all retained history. <see cref="HashKV"/> leaves the record out.
    /// </summary>
    public HashResponse Hash() => engine.Read(state => new HashResponse
    {
        Header = new ResponseHeader { Revision = state.CurrentRevision },
        Hash = StateHasher.HashAll(state),
    });

    /// <summary>
    /// The changes from <paramref name="fromRevision"/> on, in order, for watchers catching up; see <see cref="KvEventPage"/>.
    /// </summary>
    /// <exception cref="KvException">Compacted, when the history at <paramref name="fromRevision"/> is gone.</exception>
    public KvEventPage ReadEvents(long fromRevision, int maxEvents)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEvents);
        var outcome = engine.Read<object>(state => EventReader.Read(state, fromRevision, maxEvents));
        return outcome as KvEventPage ?? throw new KvException((KvError)outcome);
    }

    /// <summary>
    /// Takes a point-in-time copy of the whole state to serialize later with <see cref="KvStoreSnapshot.WriteTo"/>.
    /// Applying waits only for the copy: O(versions) struct and reference copies, keys and values are shared
    /// (<see cref="KvStoreSnapshot.EstimatedBytes"/> is summed from the copy on first use, outside the lock).
    /// </summary>
    /// <exception cref="ObjectDisposedException">When the store is disposed.</exception>
    public KvStoreSnapshot CaptureSnapshot() => new(engine.CaptureSnapshot());

    /// <summary>
    /// Writes the whole state to <paramref name="destination"/> as it streams (frames with checksums), never holding it
    /// in one buffer. In memory: <see cref="CaptureSnapshot"/> then <see cref="KvStoreSnapshot.WriteTo"/>; applying
    /// waits for the capture only. On disk: every record of a backend view taken now, with no wait at all. Either way
    /// the stream shows one applied entry's state, whole.
    /// </summary>
    public void WriteSnapshot(Stream destination) => WriteSnapshot(destination, CancellationToken.None);

    /// <summary>As <see cref="WriteSnapshot(Stream)"/>; the disk engine stops between frames when cancelled.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; the destination holds an unterminated prefix.</exception>
    public void WriteSnapshot(Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (engine is DiskEngine disk)
        {
            disk.WriteSnapshot(destination, cancellationToken);
            return;
        }

        CaptureSnapshot().WriteTo(destination);
    }

    /// <summary>In memory: writes the snapshot in an older format (1: before leases, 2: before checkpoints, 3: before the cluster record), for the tests that older snapshots restore.</summary>
    internal void WriteSnapshotInFormat(Stream destination, int format)
    {
        var frozen = engine.Read(view => FrozenState.Capture((MvccState)view));
        SnapshotCodec.Write(frozen, destination, format);
    }

    /// <summary>Reads a store written by <see cref="WriteSnapshot(Stream)"/>, verifying every checksum.</summary>
    /// <exception cref="KvSnapshotCorruptException">When the stream is truncated, altered or not a snapshot.</exception>
    public static KvStore Restore(Stream source, KvStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new KvStore(options ?? new KvStoreOptions(), new MemoryEngine(SnapshotCodec.Read(source)));
    }

    /// <summary>
    /// Replaces the whole state with a snapshot written by <see cref="WriteSnapshot(Stream)"/> (a snapshot installed from the
    /// leader). The snapshot is read and verified first, without holding anything up; then the state is swapped under
    /// the write lock, so a reader running meanwhile sees the old state or the new one, whole, and a caller holding
    /// this store never finds it disposed.
    /// </summary>
    /// <exception cref="KvSnapshotCorruptException">When the stream is truncated, altered or not a snapshot; nothing changed.</exception>
    public void ReplaceWith(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        engine.ReplaceWith(source);
    }

    /// <inheritdoc />
    public void Dispose() => engine.Dispose();

    /// <summary>Verifies the internal structures against each other; for tests (O(n)).</summary>
    internal void CheckInvariants() => engine.CheckInvariants();

    private static void ThrowIfError(KvError? error)
    {
        if (error is not null)
        {
            throw new KvException(error);
        }
    }
}
