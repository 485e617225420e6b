namespace RaftKv.Server.Http2;

/// <summary>A header block that breaks RFC 7541 or a limit; the connection must end (COMPRESSION_ERROR).</summary>
internal sealed class HpackDecodingException(string message) : Exception(message);

/// <summary>
/// Decodes HPACK header blocks (RFC 7541) the way the receiving endpoint does, keeping a copy of the dynamic table that
/// the sender's encoder addresses.
/// </summary>
/// <remarks>One per connection direction, used by one thread at a time. Blocks must be given in the order they were sent.</remarks>
internal sealed class HpackDecoder
{
    private readonly HpackDynamicTable _table;
    private readonly int _tableSizeMaxBytes;

    /// <param name="tableSizeMaxBytes">The receiver's SETTINGS_HEADER_TABLE_SIZE: the largest size update the sender may ask for.</param>
    public HpackDecoder(int tableSizeMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tableSizeMaxBytes);
        _tableSizeMaxBytes = tableSizeMaxBytes;
        _table = new HpackDynamicTable(tableSizeMaxBytes);
    }

    /// <summary>The dynamic table's current size in RFC 7541 section 4.1 bytes (for tests).</summary>
    public int TableSizeBytes => _table.SizeBytes;

    /// <summary>The dynamic table's current entry count (for tests).</summary>
    public int TableCount => _table.Count;

    /// <summary>Decodes one complete header block into <paramref name="output"/> (cleared first) and updates the dynamic table.</summary>
    /// <exception cref="HpackDecodingException">The block is malformed or exceeds the output's limit; the table is then undefined.</exception>
    public void Decode(ReadOnlySpan<byte> block, HeaderFieldList output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Clear();
        var position = 0;
        var fieldSeen = false;
        while (position < block.Length)
        {
            var first = block[position];
            if ((first & 0x80) != 0)
            {
                // 6.1 Indexed Header Field
                var index = ReadInteger(block, ref position, 7);
                var nameStart = output.Append(NameAt(index));
                var valueStart = output.Append(ValueAt(index));
                output.AddField(nameStart, valueStart, neverIndexed: false);
                fieldSeen = true;
            }
            else if ((first & 0xC0) == 0x40)
            {
                // 6.2.1 Literal with Incremental Indexing: the receiver adds it to its table, so we do too.
                var field = ReadLiteral(block, ref position, 6, output, neverIndexed: false);
                _table.Add(output.Name(field), output.Value(field));
                fieldSeen = true;
            }
            else if ((first & 0xE0) == 0x20)
            {
                // 6.3 Dynamic Table Size Update: only at the start of a block (4.2), never above the receiver's setting.
                if (fieldSeen) throw new HpackDecodingException("dynamic table size update after a header field");
                var size = ReadInteger(block, ref position, 5);
                if (size > _tableSizeMaxBytes) throw new HpackDecodingException($"dynamic table size update to {size} above the limit {_tableSizeMaxBytes}");
                _table.Resize(size);
            }
            else
            {
                // 6.2.2 Literal without Indexing (0000xxxx) and 6.2.3 Literal Never Indexed (0001xxxx).
                ReadLiteral(block, ref position, 4, output, neverIndexed: (first & 0x10) != 0);
                fieldSeen = true;
            }
        }
    }

    private int ReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits, HeaderFieldList output, bool neverIndexed)
    {
        var nameIndex = ReadInteger(block, ref position, prefixBits);
        var nameStart = nameIndex == 0 ? ReadString(block, ref position, output) : output.Append(NameAt(nameIndex));
        var valueStart = ReadString(block, ref position, output);
        return output.AddField(nameStart, valueStart, neverIndexed);
    }

    private ReadOnlySpan<byte> NameAt(int index) =>
        index <= HpackStaticTable.Count ? HpackStaticTable.Name(CheckIndex(index)) : _table.Name(DynamicIndex(index));

    private ReadOnlySpan<byte> ValueAt(int index) =>
        index <= HpackStaticTable.Count ? HpackStaticTable.Value(CheckIndex(index)) : _table.Value(DynamicIndex(index));

    private static int CheckIndex(int index) => index > 0 ? index : throw new HpackDecodingException("index 0");

    private int DynamicIndex(int index)
    {
        var dynamicIndex = index - HpackStaticTable.Count;
        if (dynamicIndex > _table.Count) throw new HpackDecodingException($"index {index} beyond the table ({HpackStaticTable.Count} + {_table.Count} entries)");
        return dynamicIndex;
    }

    /// <summary>5.2 String Literal: appended to the output; returns where it starts.</summary>
    private static int ReadString(ReadOnlySpan<byte> block, ref int position, HeaderFieldList output)
    {
        if (position >= block.Length) throw new HpackDecodingException("block ends before a string");
        var huffman = (block[position] & 0x80) != 0;
        var length = ReadInteger(block, ref position, 7);
        if (length > block.Length - position) throw new HpackDecodingException($"string of {length} bytes overruns the block");
        var encoded = block.Slice(position, length);
        position += length;
        if (!huffman) return output.Append(encoded);
        var start = output.Reserve(HpackHuffman.MaxDecodedLength(length), out var destination);
        var written = HpackHuffman.Decode(encoded, destination);
        if (written < 0) throw new HpackDecodingException("invalid Huffman string (EOS or bad padding)");
        output.Commit(written);
        return start;
    }

    /// <summary>5.1 Integer Representation with an N-bit prefix; values above 2^28 are refused (no legitimate use, and they could overflow).</summary>
    internal static int ReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        if (position >= block.Length) throw new HpackDecodingException("block ends before an integer");
        var mask = (1 << prefixBits) - 1;
        var value = block[position++] & mask;
        if (value < mask) return value;
        for (var shift = 0; ; shift += 7)
        {
            if (position >= block.Length) throw new HpackDecodingException("block ends inside an integer");
            if (shift > 21) throw new HpackDecodingException("integer too large");
            var b = block[position++];
            value += (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
    }
}
