using RaftKv.Etcd.Api;
using RaftKv.Kv.Validation;
using CommandCase = RaftKv.Kv.KvCommand.RequestOneofCase;
using OpCase = RaftKv.Etcd.Api.RequestOp.RequestOneofCase;

namespace RaftKv.Kv;

/// <summary>
/// The checks etcd makes before it proposes a request, as pure functions: the server calls these to refuse bad
/// input before it reaches the log. <see cref="KvStore.Apply(ulong, KvCommand)"/> repeats the checks that do not
/// depend on configuration (everything but the size and operation-count limits), so a bad entry that reaches the
/// log anyway is refused the same way on every member and changes nothing.
/// </summary>
public sealed class KvRequestValidator
{
    /// <summary>Deepest txn nesting accepted (etcd bounds nesting only through its operation budget).</summary>
    public const int MaxTxnDepth = 32;

    private readonly long maxRequestBytes;
    private readonly int maxTxnOps;

    /// <summary>Creates a validator with the limits of <paramref name="options"/>.</summary>
    public KvRequestValidator(KvStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        maxRequestBytes = options.MaxRequestBytes;
        maxTxnOps = options.MaxTxnOps;
    }

    /// <summary>Checks a command about to be proposed: its request, then its encoded size; null when acceptable.</summary>
    public KvError? Validate(KvCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var error = Check(command, maxTxnOps);
        if (error is null && command.CalculateSize() > maxRequestBytes)
        {
            error = KvError.RequestTooLarge;
        }

        return error;
    }

    /// <summary>Checks a range request (for reads served without the log).</summary>
    public static KvError? ValidateRange(RangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Key.Length == 0)
        {
            return KvError.EmptyKey;
        }

        if (!Enum.IsDefined(request.SortOrder) || !Enum.IsDefined(request.SortTarget))
        {
            return KvError.InvalidSortOption;
        }

        return null;
    }

    /// <summary>Checks a put request.</summary>
    public static KvError? ValidatePut(PutRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Key.Length == 0)
        {
            return KvError.EmptyKey;
        }

        if (request.IgnoreValue && request.Value.Length != 0)
        {
            return KvError.ValueProvided;
        }

        if (request.IgnoreLease && request.Lease != 0)
        {
            return KvError.LeaseProvided;
        }

        return null;
    }

    /// <summary>Checks a delete-range request.</summary>
    public static KvError? ValidateDeleteRange(DeleteRangeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Key.Length == 0 ? KvError.EmptyKey : null;
    }

    /// <summary>Checks a txn against this validator's operation limit (for read-only txns served without the log).</summary>
    public KvError? ValidateTxn(TxnRequest request) => CheckTxnWhole(request, maxTxnOps);

    /// <summary>
    /// Whether no branch of the txn, at any depth, puts or deletes: such a txn may be served by
    /// <see cref="KvStore.ReadOnlyTxn"/> without going through the log, as etcd serves it.
    /// </summary>
    public static bool IsReadOnly(TxnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return IsReadOnly(request.Success) && IsReadOnly(request.Failure);
    }

    private static bool IsReadOnly(IEnumerable<RequestOp> ops)
    {
        foreach (var op in ops)
        {
            var readOnly = op.RequestCase switch
            {
                OpCase.RequestPut or OpCase.RequestDeleteRange => false,
                OpCase.RequestTxn => IsReadOnly(op.RequestTxn),
                _ => true,
            };
            if (!readOnly)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The checks that do not depend on configuration; what apply repeats.</summary>
    internal static KvError? ValidateForApply(KvCommand command) => Check(command, int.MaxValue);

    private static KvError? Check(KvCommand command, int opsLimit) => command.RequestCase switch
    {
        CommandCase.Range => ValidateRange(command.Range),
        CommandCase.Put => ValidatePut(command.Put),
        CommandCase.DeleteRange => ValidateDeleteRange(command.DeleteRange),
        CommandCase.Txn => CheckTxnWhole(command.Txn, opsLimit),
        CommandCase.Compaction or CommandCase.CompactionStep or CommandCase.Alarm or CommandCase.LeaseGrant or CommandCase.LeaseRevoke => null,
        CommandCase.AuthEnable or CommandCase.AuthDisable or CommandCase.Authenticate or CommandCase.UserAdd or CommandCase.UserDelete
            or CommandCase.UserChangePassword or CommandCase.UserGrantRole or CommandCase.UserRevokeRole or CommandCase.RoleAdd
            or CommandCase.RoleDelete or CommandCase.RoleGrantPermission or CommandCase.RoleRevokePermission => null, // checked when applied (Auth.AuthApplier)
        CommandCase.LeaseCheckpoint => command.LeaseCheckpoint.Checkpoints.Count > Leases.LeaseLimits.MaxCheckpointsPerCommand ? KvError.TooManyCheckpoints : null,
        CommandCase.LeaseKeepAlive or CommandCase.LeaseTimeToLive => KvError.NotALogCommand,
        _ => KvError.EmptyCommand,
    };

    private static KvError? CheckTxnWhole(TxnRequest request, int opsLimit)
    {
        ArgumentNullException.ThrowIfNull(request);
        var error = CheckTxn(request, opsLimit, depth: 1);
        if (error is not null)
        {
            return error;
        }

        // Conflicts are checked after the cheap checks, as etcd does, so a huge txn cannot cost quadratic time.
        return TxnConflictChecker.HasConflict(request.Success) || TxnConflictChecker.HasConflict(request.Failure)
            ? KvError.DuplicateKey
            : null;
    }

    // etcd's rule: the compares and each branch may have at most the budget of operations; a nested txn gets
    // what its parent left (budget minus the parent's largest list).
    private static KvError? CheckTxn(TxnRequest request, int opsLimit, int depth)
    {
        var opCount = Math.Max(request.Compare.Count, Math.Max(request.Success.Count, request.Failure.Count));
        if (opCount > opsLimit || depth > MaxTxnDepth)
        {
            return KvError.TooManyOps;
        }

        foreach (var compare in request.Compare)
        {
            if (compare.Key.Length == 0)
            {
                return KvError.EmptyKey;
            }

            if (!Enum.IsDefined(compare.Target) || !Enum.IsDefined(compare.Result))
            {
                return KvError.InvalidCompare;
            }
        }

        var remaining = opsLimit == int.MaxValue ? opsLimit : opsLimit - opCount;
        foreach (var op in request.Success)
        {
            if (CheckOp(op, remaining, depth) is { } error)
            {
                return error;
            }
        }

        foreach (var op in request.Failure)
        {
            if (CheckOp(op, remaining, depth) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    private static KvError? CheckOp(RequestOp op, int opsLimit, int depth) => op.RequestCase switch
    {
        OpCase.RequestRange => ValidateRange(op.RequestRange),
        OpCase.RequestPut => ValidatePut(op.RequestPut),
        OpCase.RequestDeleteRange => ValidateDeleteRange(op.RequestDeleteRange),
        OpCase.RequestTxn => CheckTxn(op.RequestTxn, opsLimit, depth + 1),

        // etcd answers an empty operation with "key not found".
        _ => KvError.KeyNotFound,
    };
}
