using System.Globalization;
using System.Text;
using Google.Protobuf;
using RaftKv.Kv;

namespace RaftKv.Server.Concurrency;

/// <summary>
/// Where locks and elections keep their owners: each contender's key is the name, "/", and its lease id in lowercase
/// hex (clientv3's <c>fmt.Sprintf("%s%x", pfx, leaseID)</c>), so a lease contends at most once per name and clients
/// of etcd and RaftKv find the same keys.
/// </summary>
public static class OwnerKeys
{
    /// <summary>The prefix every contender's key of <paramref name="name"/> starts with: the name and "/".</summary>
    public static ByteString Prefix(ByteString name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var bytes = new byte[name.Length + 1];
        name.Span.CopyTo(bytes);
        bytes[^1] = (byte)'/';
        return ByteString.CopyFrom(bytes);
    }

    /// <summary>The range end that selects every key under <paramref name="prefix"/>.</summary>
    public static ByteString PrefixEnd(ByteString prefix) => KeyRanges.PrefixEnd(prefix.Span);

    /// <summary>The contender key of <paramref name="lease"/> under <paramref name="name"/>.</summary>
    public static ByteString Own(ByteString name, long lease) =>
        Prefix(name).Concat(Encoding.ASCII.GetBytes(Hex(lease)));

    /// <summary>Go's %x of an int64: lowercase hex, a minus sign before the magnitude when negative.</summary>
    public static string Hex(long value) => value >= 0
        ? value.ToString("x", CultureInfo.InvariantCulture)
        : "-" + unchecked((ulong)-value).ToString("x", CultureInfo.InvariantCulture);

    private static ByteString Concat(this ByteString head, byte[] tail)
    {
        var bytes = new byte[head.Length + tail.Length];
        head.Span.CopyTo(bytes);
        tail.CopyTo(bytes, head.Length);
        return ByteString.CopyFrom(bytes);
    }

    /// <summary>True when <paramref name="key"/> is under <paramref name="prefix"/>.</summary>
    public static bool IsUnder(ByteString key, ByteString prefix) => key.Span.StartsWith(prefix.Span);
}
