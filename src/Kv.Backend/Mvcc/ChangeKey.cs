using System.Buffers.Binary;

namespace RaftKv.Kv.Backend.Mvcc;

/// <summary>
/// The stored key of one change in the revision-ordered history: <see cref="MvccSpace.Changes"/>, then main and sub
/// big-endian, so the changes sort by revision. The value is the changed user key; watch replay and compaction walk
/// this space instead of visiting every key.
/// </summary>
public static class ChangeKey
{
    /// <summary>Bytes of a change key.</summary>
    public const int Length = 1 + sizeof(long) + sizeof(int);

    /// <summary>Encodes the change at (<paramref name="main"/>, <paramref name="sub"/>).</summary>
    public static byte[] Encode(long main, int sub)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(main);
        ArgumentOutOfRangeException.ThrowIfNegative(sub);
        var key = new byte[Length];
        key[0] = MvccSpace.Changes;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), (ulong)main);
        BinaryPrimitives.WriteUInt32BigEndian(key.AsSpan(1 + sizeof(long)), (uint)sub);
        return key;
    }

    /// <summary>The revision of a stored change key.</summary>
    /// <exception cref="FormatException">When the bytes are not a change key.</exception>
    public static (long Main, int Sub) Decode(ReadOnlySpan<byte> stored)
    {
        if (stored.Length != Length || stored[0] != MvccSpace.Changes)
        {
            throw new FormatException($"not a change key ({stored.Length} bytes)");
        }

        var main = BinaryPrimitives.ReadUInt64BigEndian(stored[1..]);
        var sub = BinaryPrimitives.ReadUInt32BigEndian(stored[(1 + sizeof(long))..]);
        if (main > long.MaxValue || sub > int.MaxValue)
        {
            throw new FormatException($"change key holds revision ({main}, {sub}), out of range");
        }

        return ((long)main, (int)sub);
    }

    /// <summary>The exclusive end of the change space.</summary>
    public static byte[] SpaceEnd() => [MvccSpace.Changes + 1];
}
