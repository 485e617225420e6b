using Google.Protobuf;

namespace RaftKv.Kv;

/// <summary>etcd's key-range conventions, for clients and tools that build requests.</summary>
public static class KeyRanges
{
    /// <summary>The range_end that means "every key at or after key": a single zero byte.</summary>
    public static ByteString FromKeyEnd { get; } = ByteString.CopyFrom(0);

    /// <summary>
    /// The range_end that selects every key starting with <paramref name="prefix"/>: the prefix with its last byte
    /// below 0xff incremented and the bytes after it dropped; "\0" (every key) when all bytes are 0xff or it is empty.
    /// </summary>
    public static ByteString PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        for (var i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] != 0xff)
            {
                var end = prefix[..(i + 1)].ToArray();
                end[i]++;
                return ByteString.CopyFrom(end);
            }
        }

        return FromKeyEnd;
    }
}
