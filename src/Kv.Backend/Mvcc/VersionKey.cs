using System.Buffers.Binary;

namespace RaftKv.Kv.Backend.Mvcc;

/// <summary>
/// The stored key of one version of one user key (docs/design/disk-state-machine.md, "versions"): the space byte
/// <see cref="MvccSpace.Versions"/>, the user key,
/// escaped so that no key's encoding is a prefix of another's, then the revision inverted, so that in the backend's
/// byte order all versions of a key are adjacent, newest first, and keys keep etcd's order (unsigned bytes).
/// </summary>
/// <remarks>
/// Encoding: <see cref="MvccSpace.Versions"/>; each user byte as is, except <c>0x00</c>, written <c>0x00 0xFF</c>; then the terminator <c>0x00 0x01</c>;
/// then <c>~main</c> as 8 bytes and <c>~sub</c> as 4 bytes, big-endian. After escaping, a <c>0x00</c> is always followed
/// by <c>0x01</c> (end of key) or <c>0xFF</c> (a zero byte of the key), and the end sorts below every continuation,
/// so a key sorts before every longer key it is a prefix of. All versions of a key lie in
/// [<see cref="KeyStart"/>, <see cref="KeyEnd"/>). Seeking <see cref="AtOrBelow"/> finds the newest version with a
/// main revision at or below the one asked for: one seek, no in-memory index.
/// </remarks>
public static class VersionKey
{
    private const byte Escape = 0x00;
    private const byte EscapedZero = 0xFF;
    private const byte Terminator = 0x01;

    /// <summary>Bytes of the revision suffix (inverted main and sub).</summary>
    public const int RevisionBytes = sizeof(long) + sizeof(int);

    /// <summary>The encoded length of <paramref name="key"/> without its revision.</summary>
    public static int EscapedLength(ReadOnlySpan<byte> key)
    {
        var zeros = 0;
        foreach (var b in key)
        {
            if (b == Escape)
            {
                zeros++;
            }
        }

        return 1 + key.Length + zeros + 2;
    }

    /// <summary>The encoded length of a version of <paramref name="key"/>.</summary>
    public static int Length(ReadOnlySpan<byte> key) => EscapedLength(key) + RevisionBytes;

    /// <summary>Encodes the version (<paramref name="main"/>, <paramref name="sub"/>) of <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative revision, or a destination too small.</exception>
    public static byte[] Encode(ReadOnlySpan<byte> key, long main, int sub)
    {
        var encoded = new byte[Length(key)];
        Write(encoded, key, main, sub);
        return encoded;
    }

    /// <summary>Writes the encoding into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> key, long main, int sub)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(main);
        ArgumentOutOfRangeException.ThrowIfNegative(sub);
        var at = WriteEscaped(destination, key);
        BinaryPrimitives.WriteUInt64BigEndian(destination[at..], ~(ulong)main);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(at + sizeof(long))..], ~(uint)sub);
        return at + RevisionBytes;
    }

    /// <summary>Where a seek finds the newest version of <paramref name="key"/> with main revision at most <paramref name="main"/>.</summary>
    public static byte[] AtOrBelow(ReadOnlySpan<byte> key, long main) => Encode(key, main, int.MaxValue);

    /// <summary>The inclusive start of all versions of <paramref name="key"/>.</summary>
    public static byte[] KeyStart(ReadOnlySpan<byte> key)
    {
        var start = new byte[EscapedLength(key)];
        WriteEscaped(start, key);
        return start;
    }

    /// <summary>The exclusive end of all versions of <paramref name="key"/> (the next key's versions start at or after it).</summary>
    public static byte[] KeyEnd(ReadOnlySpan<byte> key)
    {
        var end = KeyStart(key);
        end[^1] = Terminator + 1;
        return end;
    }

    /// <summary>
    /// Reads a stored version key back: the user key and the revision.
    /// </summary>
    /// <exception cref="FormatException">When the bytes are not a version key (a corrupt backend: callers must stop).</exception>
    public static (byte[] Key, long Main, int Sub) Decode(ReadOnlySpan<byte> stored)
    {
        if (stored.IsEmpty || stored[0] != MvccSpace.Versions)
        {
            throw new FormatException("not a version key (wrong space byte)");
        }

        var encoded = stored[1..];
        var end = TerminatorAt(encoded);
        if (encoded.Length - end - 2 != RevisionBytes)
        {
            throw new FormatException($"version key of {encoded.Length} bytes has {encoded.Length - end - 2} revision bytes, expected {RevisionBytes}");
        }

        var key = new byte[end - CountEscapes(encoded[..end])];
        var k = 0;
        for (var i = 0; i < end; i++)
        {
            key[k++] = encoded[i];
            if (encoded[i] == Escape)
            {
                i++; // the 0xFF after an escaped zero
            }
        }

        var main = ~BinaryPrimitives.ReadUInt64BigEndian(encoded[(end + 2)..]);
        var sub = ~BinaryPrimitives.ReadUInt32BigEndian(encoded[(end + 2 + sizeof(long))..]);
        if (main > long.MaxValue || sub > int.MaxValue)
        {
            throw new FormatException($"version key holds revision ({main}, {sub}), out of range");
        }

        return (key, (long)main, (int)sub);
    }

    private static int WriteEscaped(Span<byte> destination, ReadOnlySpan<byte> key)
    {
        destination[0] = MvccSpace.Versions;
        var at = 1;
        foreach (var b in key)
        {
            destination[at++] = b;
            if (b == Escape)
            {
                destination[at++] = EscapedZero;
            }
        }

        destination[at++] = Escape;
        destination[at++] = Terminator;
        return at;
    }

    // Index of the terminator's first byte; validates the escapes on the way.
    private static int TerminatorAt(ReadOnlySpan<byte> encoded)
    {
        for (var i = 0; i + 1 < encoded.Length; i++)
        {
            if (encoded[i] != Escape)
            {
                continue;
            }

            switch (encoded[i + 1])
            {
                case Terminator:
                    return i;
                case EscapedZero:
                    i++;
                    break;
                default:
                    throw new FormatException($"byte 0x{encoded[i + 1]:x2} after 0x00 at offset {i + 1} is neither an escape nor the terminator");
            }
        }

        throw new FormatException("version key has no terminator");
    }

    private static int CountEscapes(ReadOnlySpan<byte> escaped)
    {
        var count = 0;
        for (var i = 0; i < escaped.Length; i++)
        {
            if (escaped[i] == Escape)
            {
                count++;
                i++;
            }
        }

        return count;
    }
}
