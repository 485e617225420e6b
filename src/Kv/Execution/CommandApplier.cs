using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using RaftKv.Kv.Alarms;
using RaftKv.Kv.Mvcc;
using RaftKv.Kv.Validation;
using AlarmAction = RaftKv.Etcd.Api.AlarmRequest.Types.AlarmAction;
using CommandCase = RaftKv.Kv.KvCommand.RequestOneofCase;

namespace RaftKv.Kv.Execution;

/// <summary>
/// Applies one command to the state: a pure, total function of the state and the command. No local setting (the
/// quota is checked before proposing, see <see cref="KvStore.CheckQuota"/>), clock or environment takes part, and no
/// command throws: one that cannot be applied gets an error result, the same on every member. Refusals change
/// nothing but the applied index. Alarms act as in etcd: while NOSPACE is raised, puts (and txns containing puts)
/// are refused but reads, deletes and compactions go on; while CORRUPT is raised, every key-value command is refused.
/// </summary>
/// <param name="collectEvents">Whether results list their changes; changes only what the result carries, never the state.</param>
internal sealed class CommandApplier(bool collectEvents)
{
    private readonly Auth.AuthCache authCache = new();

    public ApplyResult Apply(IMvccState state, ulong raftIndex, KvCommand command)
    {
        state.SetApplied(raftIndex);
        var events = collectEvents ? new List<Event>() : null;
        var error = KvRequestValidator.ValidateForApply(command);
        IMessage? response = null;
        var auth = authCache.Get(state.AuthRecord);
        // The proposer checked too, but against the state it had: checked again here, at this index, every member alike.
        error ??= Auth.AuthChecker.Check(auth, command.Auth, command, state.Leases);
        if (error is null && Auth.AuthApplier.Handles(command.RequestCase))
        {
            error = Auth.AuthApplier.Apply(state, auth, command, out response);
        }
        else if (error is null)
        {
            try
            {
                error = command.RequestCase switch
                {
                    CommandCase.Range => Range(state, command.Range, out response),
                    CommandCase.Put => Put(state, command.Put, events, out response),
                    CommandCase.DeleteRange => DeleteRange(state, command.DeleteRange, events, out response),
                    CommandCase.Txn => Txn(state, command.Txn, events, out response),
                    CommandCase.Compaction => Compact(state, command.Compaction, out response),
                    CommandCase.CompactionStep => ContinueCompaction(state, out response),
                    CommandCase.Alarm => Alarm(state, command.Alarm, out response),
                    CommandCase.LeaseGrant => LeaseGrant(state, command.LeaseGrant, out response),
                    CommandCase.LeaseRevoke => LeaseRevoke(state, command.LeaseRevoke, events, out response),
                    CommandCase.LeaseCheckpoint => LeaseCheckpoint(state, command.LeaseCheckpoint, out response),
                    CommandCase.LeaseKeepAlive or CommandCase.LeaseTimeToLive => KvError.NotALogCommand,
                    _ => KvError.EmptyCommand,
                };
            }
            catch (EntryTooLargeException)
            {
                state.DiscardWrites(); // nothing of it stays, on any member: they all reach the same limit here
                error = KvError.EntryTooLarge;
            }
        }

        return new ApplyResult(raftIndex, command.RequestId, error is null ? response : null, error, state.CurrentRevision, error is null ? events : null)
        {
            AuthenticatedUser = error is null && command.RequestCase == CommandCase.Authenticate ? command.Authenticate.Name : null,
        };
    }

    /// <summary>A log entry whose bytes are not a command: refused the same way everywhere.</summary>
    public static ApplyResult Malformed(IMvccState state, ulong raftIndex)
    {
        state.SetApplied(raftIndex);
        return new ApplyResult(raftIndex, 0, null, KvError.MalformedCommand, state.CurrentRevision, null);
    }

    private static KvError? Range(IMvccState state, RangeRequest request, out IMessage? response)
    {
        response = null;
        if (state.Alarms.Has(AlarmType.Corrupt))
        {
            return KvError.Corrupt;
        }

        var error = RangeExecutor.Execute(state, request, state.CurrentRevision, out var range);
        response = range;
        return error;
    }

    private static KvError? Put(IMvccState state, PutRequest request, List<Event>? events, out IMessage? response)
    {
        response = null;
        var error = WriteGate(state, QuotaCost.Of(request)) ?? PutChecks.Check(state, request);
        if (error is not null)
        {
            return error;
        }

        var writer = new WriteTxn(state, events);
        response = writer.Put(request);
        writer.Commit();
        return null;
    }

    private static KvError? DeleteRange(IMvccState state, DeleteRangeRequest request, List<Event>? events, out IMessage? response)
    {
        response = null;
        if (WriteGate(state, cost: 0) is { } error)
        {
            return error;
        }

        var writer = new WriteTxn(state, events);
        response = writer.DeleteRange(request);
        writer.Commit();
        return null;
    }

    private static KvError? Txn(IMvccState state, TxnRequest request, List<Event>? events, out IMessage? response)
    {
        response = null;
        var cost = QuotaCost.Of(request);
        if (WriteGate(state, cost) is { } gateError)
        {
            return gateError;
        }

        var plan = TxnExecutor.Plan(state, request, state.CurrentRevision);
        if (TxnExecutor.Check(state, plan) is { } error)
        {
            return error;
        }

        var writer = TxnExecutor.Writes(plan) ? new WriteTxn(state, events) : null;
        var txn = TxnExecutor.Execute(state, plan, writer, state.CurrentRevision);
        txn.Header.Revision = writer?.Commit() ?? state.CurrentRevision;
        response = txn;
        return null;
    }

    private static KvError? Compact(IMvccState state, CompactionRequest request, out IMessage? response)
    {
        response = null;
        if (state.Alarms.Has(AlarmType.Corrupt))
        {
            return KvError.Corrupt;
        }

        if (request.Revision <= state.CompactRevision)
        {
            return KvError.Compacted;
        }

        if (request.Revision > state.CurrentRevision)
        {
            return KvError.FutureRevision;
        }

        state.Compact(request.Revision);
        response = new CompactionResponse { Header = new ResponseHeader { Revision = state.CurrentRevision } };
        return null;
    }

    private static KvError? ContinueCompaction(IMvccState state, out IMessage? response)
    {
        response = null;
        if (state.Alarms.Has(AlarmType.Corrupt))
        {
            return KvError.Corrupt; // as compaction: a corrupt store is left as it is
        }

        state.ContinueCompaction();
        response = new CompactionResponse { Header = new ResponseHeader { Revision = state.CurrentRevision } };
        return null;
    }

    private static KvError? Alarm(IMvccState state, AlarmRequest request, out IMessage? response)
    {
        response = null;
        var alarm = new AlarmResponse { Header = new ResponseHeader { Revision = state.CurrentRevision } };
        var raisable = AlarmSet.CanRaise(request.Alarm);
        switch (request.Action)
        {
            case AlarmAction.Get:
                alarm.Alarms.AddRange(state.Alarms.Get(request.Alarm));
                break;
            case AlarmAction.Activate when raisable:
                if (state.Alarms.Activate(request.MemberID, request.Alarm) == AlarmSet.Outcome.Full)
                {
                    return KvError.TooManyAlarms;
                }

                alarm.Alarms.Add(new AlarmMember { MemberID = request.MemberID, Alarm = request.Alarm });
                break;
            case AlarmAction.Deactivate when raisable:
                if (state.Alarms.Deactivate(request.MemberID, request.Alarm))
                {
                    alarm.Alarms.Add(new AlarmMember { MemberID = request.MemberID, Alarm = request.Alarm });
                }

                break;
        }

        response = alarm;
        return null;
    }

    // A corrupt store grants nothing, nor does a full one (etcd's capped applier refuses grants under NOSPACE).
    private static KvError? LeaseGrant(IMvccState state, LeaseGrantRequest request, out IMessage? response)
    {
        response = null;
        return WriteGate(state, QuotaCost.LeaseGrantBytes) ?? Leases.LeaseExecutor.Grant(state, request, out response);
    }

    // Revoking deletes keys, which the NOSPACE alarm allows, as it allows any delete.
    private static KvError? LeaseRevoke(IMvccState state, LeaseRevokeRequest request, List<Event>? events, out IMessage? response)
    {
        response = null;
        return WriteGate(state, cost: 0) ?? Leases.LeaseExecutor.Revoke(state, request, events, out response);
    }

    // A checkpoint changes no key and costs no quota (etcd's quota applier lets it through under NOSPACE); a corrupt
    // store takes it no more than any other write.
    private static KvError? LeaseCheckpoint(IMvccState state, LeaseCheckpointRequest request, out IMessage? response)
    {
        response = null;
        return WriteGate(state, cost: 0) ?? Leases.LeaseExecutor.Checkpoint(state, request, out response);
    }

    // Refusals that come before looking at the request: a corrupt store takes no writes, a full one no puts.
    private static KvError? WriteGate(IMvccState state, long cost)
    {
        if (state.Alarms.Has(AlarmType.Corrupt))
        {
            return KvError.Corrupt;
        }

        return cost > 0 && state.Alarms.Has(AlarmType.Nospace) ? KvError.NoSpace : null;
    }
}
