using System.Buffers;
using System.Buffers.Binary;

namespace RaftKv.Kv.Backend;

/// <summary>
/// The on-disk key layout. One RocksDB column family; the first byte of every stored key names its space:
/// <list type="bullet">
/// <item><c>0x00</c> + name: the backend's own metadata (format marker, applied index);</item>
/// <item><c>0x01</c> + user key: the state machine's data, ordered by the user key's bytes.</item>
/// </list>
/// Why a prefix and not column families: one memtable and one WAL lifecycle (a rarely flushed metadata family
/// would pin old WAL files), checkpoints and batches need no family handles, and the spaces still cannot meet,
/// because every user key is stored behind <c>0x01</c> and no metadata key starts with it.
/// </summary>
internal static class KeySpace
{
    public const byte MetaPrefix = 0x00;
    public const byte UserPrefix = 0x01;

    /// <summary>The exclusive upper bound of the whole user space.</summary>
    public static readonly byte[] UserSpaceEnd = [UserPrefix + 1];

    public static readonly byte[] FormatKey = MetaKey("format");
    public static readonly byte[] AppliedIndexKey = MetaKey("applied-index");

    /// <summary>The marker value; a change of layout gets a new version and a migration.</summary>
    public static readonly byte[] FormatValue = "raftkv-kv-backend/1"u8.ToArray();

    /// <summary>Keys up to this length are prefixed on the stack; longer ones use a pooled buffer.</summary>
    public const int StackKeyBytesMax = 512;

    public static byte[] UserKey(ReadOnlySpan<byte> key)
    {
        var stored = new byte[key.Length + 1];
        stored[0] = UserPrefix;
        key.CopyTo(stored.AsSpan(1));
        return stored;
    }

    /// <summary>Writes the stored form of <paramref name="key"/> into <paramref name="buffer"/> (length + 1).</summary>
    public static ReadOnlySpan<byte> UserKey(ReadOnlySpan<byte> key, Span<byte> buffer)
    {
        buffer[0] = UserPrefix;
        key.CopyTo(buffer[1..]);
        return buffer[..(key.Length + 1)];
    }

    public static byte[] RentIfLarge(int keyLength) =>
        keyLength + 1 > StackKeyBytesMax ? ArrayPool<byte>.Shared.Rent(keyLength + 1) : [];

    public static void Return(byte[] rented)
    {
        if (rented.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static void WriteIndex(Span<byte> destination, ulong index) =>
        BinaryPrimitives.WriteUInt64BigEndian(destination, index);

    private static byte[] MetaKey(string name)
    {
        var stored = new byte[name.Length + 1];
        stored[0] = MetaPrefix;
        System.Text.Encoding.ASCII.GetBytes(name, stored.AsSpan(1));
        return stored;
    }
}
