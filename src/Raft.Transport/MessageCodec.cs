using Google.Protobuf;
using RaftKv.Raft.Transport.Protocol;

namespace RaftKv.Raft.Transport;

/// <summary>Converts core messages to and from their wire form. Checks on the way in: the wire is untrusted.</summary>
public static class MessageCodec
{
    /// <summary>Wire form of a message. A snapshot's data is not included (it travels in chunks).</summary>
    public static RaftMessage ToWire(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var wire = new RaftMessage
        {
            Type = (uint)message.Type, From = message.From, To = message.To, Term = message.Term, LogTerm = message.LogTerm,
            Index = message.Index, Commit = message.Commit, Reject = message.Reject, RejectHint = message.RejectHint,
            Context = message.Context,
        };
        foreach (var e in message.Entries)
        {
            wire.Entries.Add(new LogEntry { Index = e.Index, Term = e.Term, Type = (uint)e.Type, Data = UnsafeByteOperations.UnsafeWrap(e.Data) });
        }
        if (message.Snapshot is { } s)
        {
            var meta = new Protocol.SnapshotMetadata { Index = s.Index, Term = s.Term, DataBytes = (ulong)s.Data.Length, DataCrc32 = Crc32(s.Data.Span) };
            meta.Voters.AddRange(s.Metadata.ConfState.Voters);
            meta.Learners.AddRange(s.Metadata.ConfState.Learners);
            meta.VotersOutgoing.AddRange(s.Metadata.ConfState.VotersOutgoing);
            meta.AutoLeave = s.Metadata.ConfState.AutoLeave;
            wire.Snapshot = meta;
        }
        return wire;
    }

    /// <summary>Core form of a wire message; <paramref name="snapshotData"/> is the reassembled data of a snapshot message.</summary>
    /// <exception cref="InvalidDataException">The message is malformed.</exception>
    public static Message FromWire(RaftMessage wire, ReadOnlyMemory<byte> snapshotData = default) => FromWire(wire, snapshotData, checkData: true);

    /// <summary>
    /// Core form of a snapshot message whose state travelled as a payload: <paramref name="descriptor"/> (what
    /// <see cref="Hosting.ISnapshotPayloads.AcceptPayload"/> returned) becomes the snapshot's data, in place of the
    /// empty data the sender announced.
    /// </summary>
    /// <exception cref="InvalidDataException">The message is malformed or not a snapshot.</exception>
    internal static Message FromWireWithDescriptor(RaftMessage wire, ReadOnlyMemory<byte> descriptor)
    {
        ArgumentNullException.ThrowIfNull(wire);
        if (wire.Type != (uint)MessageType.Snapshot) throw new InvalidDataException($"message type {wire.Type} carries no snapshot");
        return FromWire(wire, descriptor, checkData: false);
    }

    private static Message FromWire(RaftMessage wire, ReadOnlyMemory<byte> snapshotData, bool checkData)
    {
        ArgumentNullException.ThrowIfNull(wire);
        if (wire.Type is 0 or > (uint)MessageType.TimeoutNow) throw new InvalidDataException($"unknown message type {wire.Type}");
        var type = (MessageType)wire.Type;
        Entry[] entries = [];
        if (wire.Entries.Count > 0)
        {
            entries = new Entry[wire.Entries.Count];
            for (var i = 0; i < entries.Length; i++)
            {
                var e = wire.Entries[i];
                if (e.Type is not ((uint)EntryType.Normal or (uint)EntryType.ConfChange))
                    throw new InvalidDataException($"unknown entry type {e.Type} at index {e.Index}");
                if (i > 0 && e.Index != entries[i - 1].Index + 1) throw new InvalidDataException($"entries are not contiguous at index {e.Index}");
                entries[i] = new Entry(e.Index, e.Term, (EntryType)e.Type, e.Data.Memory);
            }
        }
        Snapshot? snapshot = null;
        if (type == MessageType.Snapshot)
        {
            var meta = wire.Snapshot ?? throw new InvalidDataException("snapshot message without snapshot metadata");
            if (checkData && (ulong)snapshotData.Length != meta.DataBytes)
                throw new InvalidDataException($"snapshot data is {snapshotData.Length} bytes, metadata says {meta.DataBytes}");
            if (checkData && Crc32(snapshotData.Span) != meta.DataCrc32) throw new InvalidDataException("snapshot data checksum mismatch");
            if (meta.Voters.Count == 0) throw new InvalidDataException("snapshot without voters");
            ConfState conf;
            try
            {
                conf = new ConfState(meta.Voters, meta.Learners, meta.VotersOutgoing, meta.AutoLeave);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"snapshot with an invalid configuration: {e.Message}");
            }
            snapshot = new Snapshot(new Raft.SnapshotMetadata(meta.Index, meta.Term, conf), snapshotData);
        }
        return new Message
        {
            Type = type, From = wire.From, To = wire.To, Term = wire.Term, LogTerm = wire.LogTerm, Index = wire.Index,
            Commit = wire.Commit, Reject = wire.Reject, RejectHint = wire.RejectHint, Context = wire.Context,
            Entries = entries, Snapshot = snapshot,
        };
    }

    /// <summary>CRC-32 of snapshot data, checked end to end after reassembly.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data) => System.IO.Hashing.Crc32.HashToUInt32(data);
}
