using System.Text;

namespace RaftKv.Server.Http2;

/// <summary>The fields of one decoded header block, names and values packed in one reusable buffer.</summary>
/// <remarks>Bounded: the RFC 7540 section 6.5.2 size of the list (name + value + 32 per field) may not pass the limit.</remarks>
internal sealed class HeaderFieldList(int sizeMaxBytes)
{
    private byte[] _bytes = new byte[1024];
    private int _length;
    private readonly List<(int NameStart, int ValueStart, int ValueEnd, bool NeverIndexed)> _fields = [];
    private int _listSizeBytes;

    public int Count => _fields.Count;

    /// <summary>The header list size as RFC 7540 section 6.5.2 counts it.</summary>
    public int ListSizeBytes => _listSizeBytes;

    public ReadOnlySpan<byte> Name(int field) => _bytes.AsSpan(_fields[field].NameStart, _fields[field].ValueStart - _fields[field].NameStart);

    public ReadOnlySpan<byte> Value(int field) => _bytes.AsSpan(_fields[field].ValueStart, _fields[field].ValueEnd - _fields[field].ValueStart);

    /// <summary>Whether the sender marked the field "never indexed" (RFC 7541 section 6.2.3); intermediaries must keep the mark.</summary>
    public bool NeverIndexed(int field) => _fields[field].NeverIndexed;

    public override string ToString() =>
        string.Join("\n", Enumerable.Range(0, Count).Select(i => $"{Encoding.Latin1.GetString(Name(i))}: {Encoding.Latin1.GetString(Value(i))}"));

    internal void Clear()
    {
        _length = 0;
        _listSizeBytes = 0;
        _fields.Clear();
    }

    /// <summary>Appends bytes; returns where they start.</summary>
    internal int Append(ReadOnlySpan<byte> bytes)
    {
        var start = Reserve(bytes.Length, out var destination);
        bytes.CopyTo(destination);
        Commit(bytes.Length);
        return start;
    }

    /// <summary>Makes room for up to <paramref name="lengthMax"/> bytes at the end; <see cref="Commit"/> says how many were written.</summary>
    internal int Reserve(int lengthMax, out Span<byte> destination)
    {
        // A field's strings are appended before the field is counted: bound the buffer too. A Huffman reservation may
        // be several times the decoded length (codes of up to 30 bits), hence the factor.
        if ((long)_length + lengthMax > 8L * sizeMaxBytes)
            throw new HpackDecodingException($"decoded header list larger than {sizeMaxBytes} bytes");
        if (_length + lengthMax > _bytes.Length) Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _length + lengthMax));
        destination = _bytes.AsSpan(_length, lengthMax);
        return _length;
    }

    internal void Commit(int written) => _length += written;

    /// <summary>Records a field whose name starts at <paramref name="nameStart"/> and whose value runs from <paramref name="valueStart"/> to the end.</summary>
    internal int AddField(int nameStart, int valueStart, bool neverIndexed)
    {
        _listSizeBytes += _length - nameStart + HpackDynamicTable.EntryOverheadBytes;
        if (_listSizeBytes > sizeMaxBytes) throw new HpackDecodingException($"decoded header list larger than {sizeMaxBytes} bytes");
        _fields.Add((nameStart, valueStart, _length, neverIndexed));
        return _fields.Count - 1;
    }
}
