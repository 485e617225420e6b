namespace RaftKv.Robustness.History;

/// <summary>What a client asked for.</summary>
public enum KvOperationKind
{
    /// <summary>A linearizable get of one key.</summary>
    Get,
    /// <summary>A put of one key.</summary>
    Put,
    /// <summary>A delete of one key.</summary>
    Delete,
    /// <summary>
    /// A txn: if the key's mod revision equals <see cref="KvInput.ExpectedModRevision"/> (0: the key is absent), put
    /// <see cref="KvInput.Value"/>; otherwise change nothing (Kubernetes' optimistic update).
    /// </summary>
    CompareAndPut,
    /// <summary>
    /// A revoke of lease <see cref="KvInput.LeaseId"/>, which the traffic attaches to one put of <see cref="KvInput.Key"/>
    /// only: it deletes the key if its value is still that put's, and otherwise changes nothing.
    /// </summary>
    LeaseRevoke,
    /// <summary>
    /// A serializable get of one key: served from the member's own state, which may be behind, so it is not
    /// linearizable and the history's checks leave it out; a run checks it against the committed history at the
    /// revision it answered at.
    /// </summary>
    SerializableGet,
    /// <summary>
    /// A linearizable range over the prefix <see cref="KvInput.Key"/> (Kubernetes' list): the answer's
    /// <see cref="KvOutput.Value"/> lists every key found as <c>key=value@modRevision</c>, joined by <c>;</c> in key
    /// order. Its revision obeys the store-wide rules; its content is checked against the committed history.
    /// </summary>
    List,
}

/// <summary>A request on one key.</summary>
/// <param name="Kind">The operation.</param>
/// <param name="Key">The key it reads or writes.</param>
/// <param name="Value">The value written (puts); null otherwise.</param>
/// <param name="ExpectedModRevision">The mod revision a <see cref="KvOperationKind.CompareAndPut"/> compares with.</param>
/// <param name="LeaseId">A put's lease (0: none), or the lease a <see cref="KvOperationKind.LeaseRevoke"/> revokes.</param>
public readonly record struct KvInput(KvOperationKind Kind, string Key, string? Value = null, long ExpectedModRevision = 0, long LeaseId = 0)
{
    /// <summary>Whether the operation may change the store.</summary>
    public bool IsWrite => Kind is not (KvOperationKind.Get or KvOperationKind.SerializableGet or KvOperationKind.List);
}

/// <summary>What the server answered, for an operation that completed.</summary>
/// <param name="Revision">The response header's revision: the store's revision after the operation.</param>
/// <param name="Value">Get: the value read, null when the key is absent.</param>
/// <param name="ModRevision">Get: the key's mod revision, 0 when absent.</param>
/// <param name="Succeeded">CompareAndPut: whether the comparison held; Delete: whether a key was deleted.</param>
public readonly record struct KvOutput(long Revision, string? Value = null, long ModRevision = 0, bool Succeeded = false);

/// <summary>
/// One invocation in a history: when it was called and returned (a monotonic clock, any unit, the same for every
/// client) and its answer. <see cref="Output"/> is null when the outcome is unknown (an error or timeout after the
/// request may have reached the server): such a write may have taken effect at any moment after its call, or never.
/// </summary>
/// <param name="Id">The operation's number in the history, for reports.</param>
/// <param name="ClientId">Which client issued it; one client has at most one operation outstanding.</param>
/// <param name="CallTime">When the client sent it.</param>
/// <param name="ReturnTime">When the answer arrived; ignored when <see cref="Output"/> is null.</param>
/// <param name="Input">The request.</param>
/// <param name="Output">The answer, or null for an unknown outcome.</param>
public sealed record KvOperation(int Id, int ClientId, long CallTime, long ReturnTime, KvInput Input, KvOutput? Output)
{
    /// <summary>Whether the answer is known.</summary>
    public bool IsCompleted => Output is not null;

    /// <summary>
    /// For a write whose answer was lost (<see cref="Output"/> null) that the committed log shows was applied
    /// (<see cref="Logs.IndeterminateWrites"/>): a time on this history's clock by which it had been applied (a
    /// completed write later in the log returned then), or <see cref="long.MaxValue"/> when nothing later bounds it.
    /// The checker then linearizes it between its call and this time instead of anywhere after its call. Null when
    /// unknown, and always for completed operations.
    /// </summary>
    public long? AppliedBy { get; init; }

    /// <inheritdoc/>
    public override string ToString()
    {
        var input = Input.Kind switch
        {
            KvOperationKind.Get => $"get({Input.Key})",
            KvOperationKind.SerializableGet => $"serializable get({Input.Key})",
            KvOperationKind.List => $"list({Input.Key}*)",
            KvOperationKind.Put => Input.LeaseId == 0 ? $"put({Input.Key}, {Input.Value})" : $"put({Input.Key}, {Input.Value}, lease={Input.LeaseId:x})",
            KvOperationKind.Delete => $"delete({Input.Key})",
            KvOperationKind.LeaseRevoke => $"revoke(lease={Input.LeaseId:x} of {Input.Key})",
            _ => $"cas({Input.Key}, mod={Input.ExpectedModRevision}, {Input.Value})",
        };
        var output = Output is not { } o ? (AppliedBy is null ? "unknown" : "unknown, applied")
            : Input.Kind switch
            {
                KvOperationKind.Get or KvOperationKind.SerializableGet => $"{o.Value ?? "<absent>"} mod={o.ModRevision} rev={o.Revision}",
                KvOperationKind.Put or KvOperationKind.LeaseRevoke => $"rev={o.Revision}",
                KvOperationKind.List => $"[{(o.Value is { Length: > 200 } v ? v[..200] + "..." : o.Value)}] rev={o.Revision}",
                _ => $"{(o.Succeeded ? "ok" : "no")} rev={o.Revision}",
            };
        return $"#{Id} client {ClientId} [{CallTime}, {(IsCompleted ? ReturnTime.ToString(System.Globalization.CultureInfo.InvariantCulture) : AppliedBy is { } by && by != long.MaxValue ? "applied by " + by.ToString(System.Globalization.CultureInfo.InvariantCulture) : "∞")}] {input} -> {output}";
    }
}
