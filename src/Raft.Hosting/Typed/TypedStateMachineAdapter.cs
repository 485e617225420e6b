using Microsoft.Extensions.Logging;

namespace RaftKv.Raft.Hosting;

/// <summary>
/// The untyped <see cref="IStateMachine"/> a <see cref="RaftHost"/> runs, over a typed one: decodes each committed
/// entry and boxes the typed result, which the host hands to the proposer in process (results are never serialized).
/// </summary>
/// <remarks>
/// Apply never throws for bad bytes: a command the codec cannot decode is applied as nothing on every node (decoding
/// is a pure function of the bytes, so all nodes agree), and its result is an <see cref="Undecodable"/> the typed host
/// turns into <see cref="UndecodableCommandException"/> for the proposer. Loop-thread only, like the host's calls.
/// </remarks>
internal sealed partial class TypedStateMachineAdapter<TCommand, TResult>(
    IStateMachine<TCommand, TResult> machine, ICommandCodec<TCommand> codec, ILogger logger) : IStateMachine
{
    /// <summary>The result of an entry whose bytes did not decode.</summary>
    internal sealed record Undecodable(ulong Index, string Reason);

    public object? Apply(in Entry entry)
    {
        if (entry.Type != EntryType.Normal || entry.Data.IsEmpty)
        {
            machine.ApplyNoOp(entry.Index);
            return null;
        }

        TCommand command;
        try
        {
            command = codec.Decode(entry.Data.Span);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Deterministic (Decode is pure): every node skips this entry alike. Out of memory is local, so it is
            // not caught: the host stops this node rather than let it disagree with its peers.
            LogUndecodable(logger, entry.Index, entry.Data.Length, e);
            machine.ApplyNoOp(entry.Index);
            return new Undecodable(entry.Index, $"{e.GetType().Name}: {e.Message}");
        }
        return machine.Apply(command, entry.Index);
    }

    public IStateMachineSnapshot CaptureSnapshot() =>
        machine.CaptureSnapshot() ?? throw new InvalidOperationException("CaptureSnapshot returned null");

    public void Restore(ReadOnlyMemory<byte> snapshot)
    {
        using var source = AsStream(snapshot);
        machine.Restore(source);
    }

    private static MemoryStream AsStream(ReadOnlyMemory<byte> bytes) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "entry {Index} ({Bytes} bytes) could not be decoded; applied as nothing on every node")]
    private static partial void LogUndecodable(ILogger logger, ulong index, int bytes, Exception exception);
}
