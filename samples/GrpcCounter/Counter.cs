using System.Buffers;
using System.Buffers.Binary;
using RaftKv.Raft.Hosting;

namespace RaftKv.Samples.GrpcCounter;

/// <summary>
/// The replicated state: one number. A command adds to it; the result is the new value. Apply is deterministic, and
/// Value is read on request threads while the loop applies, so it is read and written atomically.
/// </summary>
public sealed class Counter : IStateMachine<long, long>
{
    private long _value;

    /// <summary>The current value.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <inheritdoc />
    public long Apply(long command, ulong index) => Interlocked.Add(ref _value, command);

    /// <inheritdoc />
    public IStateMachineSnapshot CaptureSnapshot() => new Captured(Value);

    /// <inheritdoc />
    public void Restore(Stream source)
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        source.ReadExactly(bytes);
        Interlocked.Exchange(ref _value, BinaryPrimitives.ReadInt64LittleEndian(bytes));
    }

    private sealed class Captured(long value) : IStateMachineSnapshot
    {
        public long SizeHintBytes => sizeof(long);

        public void WriteTo(Stream destination)
        {
            Span<byte> bytes = stackalloc byte[sizeof(long)];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            destination.Write(bytes);
        }
    }
}

/// <summary>A command is a number as 8 bytes, little-endian.</summary>
public sealed class Int64Codec : ICommandCodec<long>
{
    /// <inheritdoc />
    public void Encode(long value, IBufferWriter<byte> destination)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination.GetSpan(sizeof(long)), value);
        destination.Advance(sizeof(long));
    }

    /// <inheritdoc />
    public long Decode(ReadOnlySpan<byte> source) => source.Length == sizeof(long)
        ? BinaryPrimitives.ReadInt64LittleEndian(source)
        : throw new FormatException($"a command is 8 bytes, not {source.Length}");
}
