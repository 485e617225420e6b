namespace RaftKv.Kv;

/// <summary>
/// Limits of the store. None of them takes part in applying a command (apply is a function of the log alone), so
/// members may differ in them: they are checked before a command is proposed (<see cref="KvStore.CheckQuota"/>,
/// <see cref="KvRequestValidator"/>).
/// </summary>
public sealed record KvStoreOptions
{
    /// <summary>etcd's default storage quota, 2 GiB (--quota-backend-bytes).</summary>
    public const long DefaultQuotaBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>etcd's default request size limit, 1.5 MiB (--max-request-bytes).</summary>
    public const long DefaultMaxRequestBytes = 3L * 512 * 1024;

    /// <summary>etcd's default limit on operations per txn branch (--max-txn-ops).</summary>
    public const int DefaultMaxTxnOps = 128;

    /// <summary>
    /// Storage quota in bytes of <see cref="KvStore.SizeBytes"/>; <see cref="KvStore.CheckQuota"/> refuses a write
    /// that would reach it (and the server then raises the NOSPACE alarm through the log). 0 means <see cref="DefaultQuotaBytes"/>, a negative value disables the quota (as in etcd).
    /// </summary>
    public long QuotaBytes { get; init; } = DefaultQuotaBytes;

    /// <summary>Largest encoded <see cref="KvCommand"/>, in bytes, that <see cref="KvRequestValidator"/> lets through.</summary>
    public long MaxRequestBytes { get; init; } = DefaultMaxRequestBytes;

    /// <summary>Most compares, or operations in one branch, of a txn that <see cref="KvRequestValidator"/> lets through.</summary>
    public int MaxTxnOps { get; init; } = DefaultMaxTxnOps;

    /// <summary>
    /// Whether <see cref="ApplyResult.Events"/> lists the changes of each command (for watchers). Off saves two small
    /// allocations per changed key; the history stays readable with <see cref="KvStore.ReadEvents"/> either way.
    /// </summary>
    public bool CollectEvents { get; init; } = true;

    /// <summary>The quota in force: <see cref="QuotaBytes"/> with 0 read as the default and negatives as none.</summary>
    public long EffectiveQuotaBytes => QuotaBytes switch
    {
        0 => DefaultQuotaBytes,
        < 0 => long.MaxValue,
        _ => QuotaBytes,
    };

    /// <summary>Throws when a limit makes no sense.</summary>
    public void Validate()
    {
        if (MaxRequestBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRequestBytes), MaxRequestBytes, "must be positive");
        }

        if (MaxTxnOps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTxnOps), MaxTxnOps, "must be positive");
        }
    }
}
