using Google.Protobuf;
using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Raft;

namespace RaftKv.Cli.Wal;

/// <summary>
/// Decodes one Raft log entry as the member applies it: a configuration change (<see cref="ConfChange.Decode"/>), a
/// new leader's no-op (empty data), or a <see cref="KvCommand"/> (what <see cref="KvStore.Apply(ulong, ReadOnlySpan{byte})"/>
/// parses; bytes that do not parse are shown as <c>malformed</c>, which the store refuses too). Puts, deletes and
/// txns show their keys and values (cut to a bound, see <see cref="DumpBytes"/>); lease, compaction and other
/// commands their ids and numbers; passwords and tokens never.
/// </summary>
internal sealed class EntryDescriber(IDumpSink sink, int maxBytes)
{
    // Txns nest (a txn op in a txn); deeper than this is shown as "txn" without its body.
    private const int MaxTxnDepth = 4;

    /// <summary>Writes one record for <paramref name="entry"/>.</summary>
    public void Describe(in Entry entry, bool committed)
    {
        sink.BeginRecord();
        sink.String("kind", "entry");
        sink.Number("index", entry.Index);
        sink.Number("term", entry.Term);
        sink.String("type", entry.Type == EntryType.ConfChange ? "conf-change" : "normal");
        sink.Bool("committed", committed);
        if (entry.Type == EntryType.ConfChange) DescribeConfChange(entry.Data.Span);
        else if (entry.Data.IsEmpty) sink.String("command", "no-op");
        else DescribeCommand(entry.Data.Span);
        sink.EndRecord();
    }

    private void DescribeConfChange(ReadOnlySpan<byte> data)
    {
        ConfChange change;
        try
        {
            change = ConfChange.Decode(data);
        }
        catch (FormatException e)
        {
            sink.String("command", "malformed");
            sink.String("error", e.Message);
            return;
        }
        sink.String("command", change.IsLeaveJoint ? "leave-joint" : "conf-change");
        sink.String("transition", Kebab(change.Transition.ToString()));
        sink.BeginArray("changes");
        foreach (var single in change.Changes)
        {
            sink.BeginObject();
            sink.String("op", Kebab(single.Type.ToString()));
            sink.String("node", single.NodeId.ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
            sink.EndObject();
        }
        sink.EndArray();
        if (!change.Context.IsEmpty) sink.Number("contextBytes", (long)change.Context.Length);
    }

    private void DescribeCommand(ReadOnlySpan<byte> data)
    {
        KvCommand command;
        try
        {
            command = KvCommand.Parser.ParseFrom(data);
        }
        catch (InvalidProtocolBufferException e)
        {
            sink.String("command", "malformed");
            sink.String("error", e.Message);
            return;
        }
        switch (command.RequestCase)
        {
            case KvCommand.RequestOneofCase.Put:
                sink.String("command", "put");
                Put(command.Put);
                break;
            case KvCommand.RequestOneofCase.DeleteRange:
                sink.String("command", "delete");
                Delete(command.DeleteRange);
                break;
            case KvCommand.RequestOneofCase.Range:
                sink.String("command", "range");
                Range(command.Range);
                break;
            case KvCommand.RequestOneofCase.Txn:
                sink.String("command", "txn");
                Txn(command.Txn, 1);
                break;
            default:
                DescribeOther(command);
                break;
        }
        if (command.RequestId != 0) sink.Number("requestId", command.RequestId);
    }

    // Commands without keys: their ids and numbers; auth, alarms and compaction steps by kind only (which keeps
    // password hashes out of the dump).
    private void DescribeOther(KvCommand command)
    {
        sink.String("command", Kebab(command.RequestCase.ToString()));
        switch (command.RequestCase)
        {
            case KvCommand.RequestOneofCase.Compaction:
                sink.Number("revision", command.Compaction.Revision);
                break;
            case KvCommand.RequestOneofCase.LeaseGrant:
                sink.Number("lease", command.LeaseGrant.ID);
                sink.Number("ttlSeconds", command.LeaseGrant.TTL);
                break;
            case KvCommand.RequestOneofCase.LeaseRevoke:
                sink.Number("lease", command.LeaseRevoke.ID);
                break;
            case KvCommand.RequestOneofCase.LeaseCheckpoint:
                sink.Number("leases", (long)command.LeaseCheckpoint.Checkpoints.Count);
                break;
            default:
                break;
        }
    }

    private void Put(PutRequest put)
    {
        DumpBytes.Write(sink, "key", put.Key.Span, maxBytes);
        DumpBytes.Write(sink, "value", put.Value.Span, maxBytes);
        if (put.Lease != 0) sink.Number("lease", put.Lease);
        if (put.IgnoreValue) sink.Bool("ignoreValue", true);
        if (put.IgnoreLease) sink.Bool("ignoreLease", true);
    }

    private void Delete(DeleteRangeRequest delete)
    {
        DumpBytes.Write(sink, "key", delete.Key.Span, maxBytes);
        if (!delete.RangeEnd.IsEmpty) DumpBytes.Write(sink, "rangeEnd", delete.RangeEnd.Span, maxBytes);
    }

    private void Range(RangeRequest range)
    {
        DumpBytes.Write(sink, "key", range.Key.Span, maxBytes);
        if (!range.RangeEnd.IsEmpty) DumpBytes.Write(sink, "rangeEnd", range.RangeEnd.Span, maxBytes);
    }

    private void Txn(TxnRequest txn, int depth)
    {
        if (depth > MaxTxnDepth)
        {
            sink.Bool("bodyOmitted", true);
            return;
        }
        sink.BeginArray("compare");
        foreach (var compare in txn.Compare)
        {
            sink.BeginObject();
            DumpBytes.Write(sink, "key", compare.Key.Span, maxBytes);
            if (!compare.RangeEnd.IsEmpty) DumpBytes.Write(sink, "rangeEnd", compare.RangeEnd.Span, maxBytes);
            sink.String("target", Kebab(compare.Target.ToString()));
            sink.String("result", Kebab(compare.Result.ToString()));
            switch (compare.TargetUnionCase)
            {
                case Compare.TargetUnionOneofCase.Value: DumpBytes.Write(sink, "value", compare.Value.Span, maxBytes); break;
                case Compare.TargetUnionOneofCase.Version: sink.Number("version", compare.Version); break;
                case Compare.TargetUnionOneofCase.CreateRevision: sink.Number("createRevision", compare.CreateRevision); break;
                case Compare.TargetUnionOneofCase.ModRevision: sink.Number("modRevision", compare.ModRevision); break;
                case Compare.TargetUnionOneofCase.Lease: sink.Number("lease", compare.Lease); break;
                default: break; // unset: the zero of the target
            }
            sink.EndObject();
        }
        sink.EndArray();
        Ops("success", txn.Success, depth);
        Ops("failure", txn.Failure, depth);
    }

    private void Ops(string name, IEnumerable<RequestOp> ops, int depth)
    {
        sink.BeginArray(name);
        foreach (var op in ops)
        {
            sink.BeginObject();
            switch (op.RequestCase)
            {
                case RequestOp.RequestOneofCase.RequestPut:
                    sink.String("op", "put");
                    Put(op.RequestPut);
                    break;
                case RequestOp.RequestOneofCase.RequestDeleteRange:
                    sink.String("op", "delete");
                    Delete(op.RequestDeleteRange);
                    break;
                case RequestOp.RequestOneofCase.RequestRange:
                    sink.String("op", "range");
                    Range(op.RequestRange);
                    break;
                case RequestOp.RequestOneofCase.RequestTxn:
                    sink.String("op", "txn");
                    Txn(op.RequestTxn, depth + 1);
                    break;
                default:
                    sink.String("op", "none");
                    break;
            }
            sink.EndObject();
        }
        sink.EndArray();
    }

    // "LeaseGrant" -> "lease-grant", "NotEqual" -> "not-equal".
    private static string Kebab(string pascal)
    {
        var s = new System.Text.StringBuilder(pascal.Length + 4);
        foreach (var c in pascal)
        {
            if (char.IsUpper(c) && s.Length > 0) s.Append('-');
            s.Append(char.ToLowerInvariant(c));
        }
        return s.ToString();
    }
}
