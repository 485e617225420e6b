using Grpc.Core;

namespace RaftKv.Kv;

/// <summary>
/// An error as etcd reports it to clients: a gRPC status code and etcd's exact message. Clients (etcdctl, the Go
/// and .NET clients) match on these strings, so the texts below are copied from etcd's rpctypes word for word.
/// The server turns one into a response with <see cref="ToRpcException"/>.
/// </summary>
public sealed partial class KvError : IEquatable<KvError>
{
    private KvError(StatusCode code, string message)
    {
        Code = code;
        Message = message;
    }

    /// <summary>The gRPC status code.</summary>
    public StatusCode Code { get; }

    /// <summary>The status message, exactly as etcd sends it.</summary>
    public string Message { get; }

    /// <summary>"etcdserver: key is not provided" (InvalidArgument): an empty key.</summary>
    public static KvError EmptyKey { get; } = new(StatusCode.InvalidArgument, "etcdserver: key is not provided");

    /// <summary>"etcdserver: key not found" (InvalidArgument): ignore_value/ignore_lease on a missing key, or an empty txn operation.</summary>
    public static KvError KeyNotFound { get; } = new(StatusCode.InvalidArgument, "etcdserver: key not found");

    /// <summary>"etcdserver: value is provided" (InvalidArgument): ignore_value with a value.</summary>
    public static KvError ValueProvided { get; } = new(StatusCode.InvalidArgument, "etcdserver: value is provided");

    /// <summary>"etcdserver: lease is provided" (InvalidArgument): ignore_lease with a lease.</summary>
    public static KvError LeaseProvided { get; } = new(StatusCode.InvalidArgument, "etcdserver: lease is provided");

    /// <summary>"etcdserver: too many operations in txn request" (InvalidArgument).</summary>
    public static KvError TooManyOps { get; } = new(StatusCode.InvalidArgument, "etcdserver: too many operations in txn request");

    /// <summary>"etcdserver: duplicate key given in txn request" (InvalidArgument): one key written twice in a txn.</summary>
    public static KvError DuplicateKey { get; } = new(StatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request");

    /// <summary>"etcdserver: invalid sort option" (InvalidArgument): an unknown sort order or target.</summary>
    public static KvError InvalidSortOption { get; } = new(StatusCode.InvalidArgument, "etcdserver: invalid sort option");

    /// <summary>
    /// A RangeStream asking for an order other than by key, ascending (Unimplemented): etcd 3.7 refuses these too,
    /// since sorting needs the whole result, and its clients fall back to Range. The text is RaftKv's, in etcd's style.
    /// </summary>
    public static KvError StreamSortUnsupported { get; } = new(StatusCode.Unimplemented, "etcdserver: RangeStream does not support custom sort orders");

    /// <summary>"etcdserver: mvcc: required revision has been compacted" (OutOfRange).</summary>
    public static KvError Compacted { get; } = new(StatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted");

    /// <summary>"etcdserver: mvcc: required revision is a future revision" (OutOfRange).</summary>
    public static KvError FutureRevision { get; } = new(StatusCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision");

    /// <summary>"etcdserver: mvcc: database space exceeded" (ResourceExhausted): the NOSPACE alarm is raised.</summary>
    public static KvError NoSpace { get; } = new(StatusCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded");

    /// <summary>"etcdserver: requested lease not found" (NotFound).</summary>
    public static KvError LeaseNotFound { get; } = new(StatusCode.NotFound, "etcdserver: requested lease not found");

    /// <summary>"etcdserver: lease already exists" (FailedPrecondition): a grant with the id of a granted lease.</summary>
    public static KvError LeaseExists { get; } = new(StatusCode.FailedPrecondition, "etcdserver: lease already exists");

    /// <summary>"etcdserver: too large lease TTL" (OutOfRange): a grant above <see cref="Leases.LeaseLimits.MaxTtlSeconds"/>.</summary>
    public static KvError LeaseTtlTooLarge { get; } = new(StatusCode.OutOfRange, "etcdserver: too large lease TTL");

    /// <summary>
    /// A grant while <see cref="Leases.LeaseLimits.MaxLeases"/> leases exist (ResourceExhausted; RaftKv's own: etcd
    /// keeps no limit).
    /// </summary>
    public static KvError TooManyLeases { get; } = new(StatusCode.ResourceExhausted, "raftkv: too many leases granted");

    /// <summary>
    /// A LeaseCheckpoint command with more than <see cref="Leases.LeaseLimits.MaxCheckpointsPerCommand"/> checkpoints
    /// (InvalidArgument; RaftKv's own: etcd's leader never proposes more, and applies what it finds).
    /// </summary>
    public static KvError TooManyCheckpoints { get; } = new(StatusCode.InvalidArgument, "raftkv: too many lease checkpoints in one command");

    /// <summary>
    /// A keep-alive or time-to-live question found in the log (InvalidArgument; RaftKv's own): those travel to the
    /// leader over the forwarding path and are answered there, never applied.
    /// </summary>
    public static KvError NotALogCommand { get; } = new(StatusCode.InvalidArgument, "raftkv: this request is not applied through the log");

    /// <summary>"etcdserver: request is too large" (InvalidArgument): the encoded command exceeds max-request-bytes.</summary>
    public static KvError RequestTooLarge { get; } = new(StatusCode.InvalidArgument, "etcdserver: request is too large");

    /// <summary>"etcdserver: no leader" (Unavailable); for the server, which proposes.</summary>
    public static KvError NoLeader { get; } = new(StatusCode.Unavailable, "etcdserver: no leader");

    /// <summary>"etcdserver: corrupt cluster" (DataLoss): the CORRUPT alarm is raised.</summary>
    public static KvError Corrupt { get; } = new(StatusCode.DataLoss, "etcdserver: corrupt cluster");

    /// <summary>
    /// An unknown compare result or target in a txn (InvalidArgument). etcd has no check or message for this (it
    /// silently evaluates such a compare); RaftKv rejects it, with a message of its own in etcd's style.
    /// </summary>
    public static KvError InvalidCompare { get; } = new(StatusCode.InvalidArgument, "etcdserver: invalid compare in txn request");

    /// <summary>A log entry that is not a valid <see cref="KvCommand"/> (InvalidArgument; RaftKv's own).</summary>
    public static KvError MalformedCommand { get; } = new(StatusCode.InvalidArgument, "raftkv: malformed command");

    /// <summary>A <see cref="KvCommand"/> with no request in it (InvalidArgument; RaftKv's own).</summary>
    public static KvError EmptyCommand { get; } = new(StatusCode.InvalidArgument, "raftkv: command has no request");

    /// <summary>
    /// An ACTIVATE beyond <c>AlarmSet.MaxAlarms</c> raised alarms (ResourceExhausted; RaftKv's own: etcd keeps no limit).
    /// The API refuses alarms for members that do not exist, so only a flood that reached the log anyway gets this.
    /// </summary>
    public static KvError TooManyAlarms { get; } = new(StatusCode.ResourceExhausted, "raftkv: too many alarms raised");

    /// <summary>
    /// The disk store writes each entry in one atomic batch of bounded size; an entry that would change more (a delete
    /// of millions of keys, a compaction over a longer history) is refused the same way on every member, changing
    /// nothing. etcd has no such error: it would hold the whole change in one bbolt transaction.
    /// </summary>
    public static KvError EntryTooLarge { get; } = new(StatusCode.ResourceExhausted,
        "raftkv: the request changes too many versions for one atomic write; delete smaller ranges, or compact to an earlier revision first");

    /// <summary>An exception carrying this error, for the gRPC layer to throw.</summary>
    public RpcException ToRpcException() => new(new Status(Code, Message));

    /// <inheritdoc />
    public bool Equals(KvError? other) => other is not null && other.Code == Code && other.Message == Message;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as KvError);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Code, Message);

    /// <inheritdoc />
    public override string ToString() => $"{Code}: {Message}";
}
