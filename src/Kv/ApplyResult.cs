using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;

namespace RaftKv.Kv;

/// <summary>
/// What applying one Raft entry produced: either an etcd response or an etcd error (never both), the store
/// revision afterwards, and the changes made (for watchers). Identical on every member for the same log.
/// Messages in here are shared with the store's event feed: treat them as read-only (set the response header's
/// cluster/member/term fields only).
/// </summary>
public sealed class ApplyResult
{
    private static readonly IReadOnlyList<Event> NoEvents = [];

    internal ApplyResult(ulong raftIndex, ulong requestId, IMessage? response, KvError? error, long revision, IReadOnlyList<Event>? events)
    {
        if ((response is null) == (error is null))
        {
            throw new ArgumentException("a result has exactly one of a response and an error");
        }

        RaftIndex = raftIndex;
        RequestId = requestId;
        Response = response;
        Error = error;
        Revision = revision;
        Events = events is { Count: > 0 } ? events : NoEvents;
    }

    /// <summary>
    /// For an applied Authenticate (the response is an <see cref="AuthenticateResponse"/>): the user its token
    /// stands for, so every member can learn the token (etcd's simple tokens); null otherwise.
    /// </summary>
    public string? AuthenticatedUser { get; init; }

    /// <summary>Index of the applied Raft entry.</summary>
    public ulong RaftIndex { get; }

    /// <summary>The command's <see cref="KvCommand.RequestId"/>, to find the waiting caller; 0 when unreadable.</summary>
    public ulong RequestId { get; }

    /// <summary>
    /// The etcd response: <see cref="RangeResponse"/>, <see cref="PutResponse"/>, <see cref="DeleteRangeResponse"/>,
    /// <see cref="TxnResponse"/>, <see cref="CompactionResponse"/>, <see cref="AlarmResponse"/>,
    /// <see cref="LeaseGrantResponse"/>, <see cref="LeaseRevokeResponse"/> or <see cref="LeaseCheckpointResponse"/>; null on error.
    /// </summary>
    public IMessage? Response { get; }

    /// <summary>Why the command was refused (nothing changed); null on success.</summary>
    public KvError? Error { get; }

    /// <summary>Whether the command was applied.</summary>
    public bool Succeeded => Error is null;

    /// <summary>The store revision after this entry.</summary>
    public long Revision { get; }

    /// <summary>
    /// The changes this entry made, in revision order (one revision, sub-revisions in order), each with the key's
    /// previous version when it had one; empty when nothing changed or <see cref="KvStoreOptions.CollectEvents"/> is off.
    /// </summary>
    public IReadOnlyList<Event> Events { get; }

    /// <summary>The response as a put response (null for other kinds).</summary>
    public PutResponse? Put => Response as PutResponse;

    /// <summary>The response as a range response (null for other kinds).</summary>
    public RangeResponse? Range => Response as RangeResponse;

    /// <summary>The response as a delete-range response (null for other kinds).</summary>
    public DeleteRangeResponse? DeleteRange => Response as DeleteRangeResponse;

    /// <summary>The response as a txn response (null for other kinds).</summary>
    public TxnResponse? Txn => Response as TxnResponse;

    /// <summary>The response as a compaction response (null for other kinds).</summary>
    public CompactionResponse? Compaction => Response as CompactionResponse;

    /// <summary>The response as an alarm response (null for other kinds).</summary>
    public AlarmResponse? Alarm => Response as AlarmResponse;
}
