using System.Buffers.Binary;

namespace RaftKv.Kv.Backend.Snapshots;

/// <summary>
/// The metadata-space records of a stream being restored (format marker, applied index, and any other key behind
/// <see cref="KeySpace.MetaPrefix"/>), held back and written last: until the very end, a half-restored directory
/// has no format marker, so <see cref="KvBackend.Open"/> rejects it instead of serving part of the state.
/// </summary>
internal sealed class MetaRecords
{
    /// <summary>The most metadata bytes held: metadata is a handful of small values, so more is a foreign stream.</summary>
    public const int HeldBytesMax = 1 << 20;

    private readonly List<(byte[] Key, byte[] Value)> held = [];
    private int heldBytes;
    private string? appliedIndexLocation;

    public static bool IsMeta(ReadOnlySpan<byte> storedKey) => storedKey[0] == KeySpace.MetaPrefix;

    /// <summary>Keeps a copy of the record; <paramref name="location"/> names it in messages.</summary>
    public void Hold(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, string location)
    {
        heldBytes += key.Length + value.Length;
        if (heldBytes > HeldBytesMax)
        {
            StreamFormat.Reject(location, $"the metadata space exceeds {HeldBytesMax} bytes");
        }
        if (key.SequenceEqual(KeySpace.AppliedIndexKey))
        {
            appliedIndexLocation = location;
        }
        held.Add((key.ToArray(), value.ToArray()));
    }

    /// <summary>
    /// Checks that the format marker is this build's and that the applied index equals <paramref name="headerIndex"/>
    /// (the index the stream's header announced).
    /// </summary>
    public void Verify(ulong headerIndex)
    {
        var format = Find(KeySpace.FormatKey);
        if (format is null)
        {
            StreamFormat.Reject("the metadata", "no format marker record");
        }
        if (!format.AsSpan().SequenceEqual(KeySpace.FormatValue))
        {
            StreamFormat.Reject("the metadata", $"format marker '{System.Text.Encoding.UTF8.GetString(format)}', this build reads " +
                $"'{System.Text.Encoding.UTF8.GetString(KeySpace.FormatValue)}'");
        }
        var index = Find(KeySpace.AppliedIndexKey);
        if (index is null)
        {
            StreamFormat.Reject("the metadata", "no applied index record");
        }
        if (index.Length != sizeof(ulong))
        {
            StreamFormat.Reject(appliedIndexLocation!, $"the applied index has {index.Length} bytes, not 8");
        }
        var metaIndex = BinaryPrimitives.ReadUInt64BigEndian(index);
        if (metaIndex != headerIndex)
        {
            StreamFormat.Reject(appliedIndexLocation!, $"the applied index record says {metaIndex}, the header {headerIndex}");
        }
    }

    /// <summary>The held records, in stream (key) order.</summary>
    public IReadOnlyList<(byte[] Key, byte[] Value)> Records => held;

    private byte[]? Find(byte[] key)
    {
        foreach (var (k, v) in held)
        {
            if (k.AsSpan().SequenceEqual(key))
            {
                return v;
            }
        }
        return null;
    }
}
