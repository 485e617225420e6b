using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Mvcc;
using CommandCase = RaftKv.Kv.KvCommand.RequestOneofCase;
using PermType = RaftKv.Etcd.Api.Authpb.Permission.Types.Type;

namespace RaftKv.Kv.Auth;

/// <summary>
/// The permission check of one command against the replicated auth state, made when the command is applied (and by
/// the server before it proposes or serves a read, with the same rules). Pure: the same state and command give the
/// same answer on every member. What is checked, beyond etcd 3.4 where noted:
/// <list type="bullet">
/// <item>Range: read on its range. Put: write on the key, and read on it when prev_kv is asked (etcd 3.4 forgot the read).</item>
/// <item>DeleteRange: write on the range, read too when prev_kv is asked.</item>
/// <item>Txn: read on every compare's key or range, and every operation of both branches as above, nested txns
/// included, to any depth the validator lets through (the 2026 bypass classes: nested ops, prev_kv, lease attach).</item>
/// <item>LeaseRevoke: write on every key attached to the lease (as etcd). LeaseGrant: any authenticated user.</item>
/// <item>Compaction and Alarm: root (etcd 3.4 lets anyone; a deliberate difference). Commands only the server proposes
/// (checkpoints, compaction steps) and every auth management command: root.</item>
/// </list>
/// </summary>
public static class AuthChecker
{
    /// <summary>
    /// Null when <paramref name="command"/>, proposed as <paramref name="identity"/>, may be applied to a store whose
    /// auth state is <paramref name="auth"/>; otherwise etcd's error. The keys attached to a revoked lease are not
    /// known here (the proposer's check): the apply checks them.
    /// </summary>
    public static KvError? Check(AuthState auth, CommandAuth? identity, KvCommand command) => Check(auth, identity, command, null);

    internal static KvError? Check(AuthState auth, CommandAuth? identity, KvCommand command, Leases.ILeaseView? leases)
    {
        ArgumentNullException.ThrowIfNull(auth);
        ArgumentNullException.ThrowIfNull(command);
        if (!auth.Enabled || identity is null || command.RequestCase == CommandCase.Authenticate)
        {
            return null; // auth off, a command of the server's own, or authenticate (checked by its own apply)
        }

        if (identity.Revision < auth.Revision)
        {
            return KvError.AuthOldRevision;
        }

        if (identity.User.Length == 0)
        {
            return KvError.UserEmpty;
        }

        var user = identity.User;
        if (auth.FindUser(user) is null)
        {
            return KvError.PermissionDenied;
        }

        return command.RequestCase switch
        {
            CommandCase.Range => Read(auth, user, command.Range.Key, command.Range.RangeEnd),
            CommandCase.Put => Put(auth, user, command.Put),
            CommandCase.DeleteRange => Delete(auth, user, command.DeleteRange),
            CommandCase.Txn => Txn(auth, user, command.Txn, depth: 0),
            CommandCase.LeaseGrant or CommandCase.LeaseKeepAlive or CommandCase.LeaseTimeToLive => null,
            CommandCase.LeaseRevoke => leases is null ? null : LeaseRevoke(auth, user, command.LeaseRevoke.ID, leases),
            _ => auth.IsRoot(user) ? null : KvError.PermissionDenied,
        };
    }

    /// <summary>Whether <paramref name="user"/> may read [key, rangeEnd): for watches and local reads.</summary>
    public static KvError? Read(AuthState auth, string user, ByteString key, ByteString rangeEnd)
    {
        ArgumentNullException.ThrowIfNull(auth);
        return auth.IsPermitted(user, key, rangeEnd, PermType.Read) ? null : KvError.PermissionDenied;
    }

    private static KvError? Write(AuthState auth, string user, ByteString key, ByteString rangeEnd) =>
        auth.IsPermitted(user, key, rangeEnd, PermType.Write) ? null : KvError.PermissionDenied;

    private static KvError? Put(AuthState auth, string user, PutRequest put) =>
        Write(auth, user, put.Key, ByteString.Empty) ?? (put.PrevKv ? Read(auth, user, put.Key, ByteString.Empty) : null);

    private static KvError? Delete(AuthState auth, string user, DeleteRangeRequest delete) =>
        Write(auth, user, delete.Key, delete.RangeEnd) ?? (delete.PrevKv ? Read(auth, user, delete.Key, delete.RangeEnd) : null);

    // Recursion is bounded by the validator's nesting limit; the depth guard makes it bounded here too.
    private static KvError? Txn(AuthState auth, string user, TxnRequest txn, int depth)
    {
        if (depth > KvRequestValidator.MaxTxnDepth)
        {
            return KvError.PermissionDenied;
        }

        foreach (var compare in txn.Compare)
        {
            if (Read(auth, user, compare.Key, compare.RangeEnd) is { } error)
            {
                return error;
            }
        }

        foreach (var op in txn.Success.Concat(txn.Failure))
        {
            var error = op.RequestCase switch
            {
                RequestOp.RequestOneofCase.RequestRange => Read(auth, user, op.RequestRange.Key, op.RequestRange.RangeEnd),
                RequestOp.RequestOneofCase.RequestPut => Put(auth, user, op.RequestPut),
                RequestOp.RequestOneofCase.RequestDeleteRange => Delete(auth, user, op.RequestDeleteRange),
                RequestOp.RequestOneofCase.RequestTxn => Txn(auth, user, op.RequestTxn, depth + 1),
                _ => null, // an empty op is refused by the validator
            };
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private static KvError? LeaseRevoke(AuthState auth, string user, long id, Leases.ILeaseView leases)
    {
        if (auth.IsRoot(user))
        {
            return null;
        }

        foreach (var key in leases.Keys(id))
        {
            if (Write(auth, user, key, ByteString.Empty) is { } error)
            {
                return error;
            }
        }

        return null;
    }
}
