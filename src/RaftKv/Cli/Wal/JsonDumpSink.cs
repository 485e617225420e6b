using System.Buffers;
using System.Text.Json;

namespace RaftKv.Cli.Wal;

/// <summary>JSON lines: one compact object per record, written to the output as soon as it ends.</summary>
internal sealed class JsonDumpSink : IDumpSink, IDisposable
{
    private readonly Stream _output;
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly Utf8JsonWriter _writer;

    /// <summary>Writes to <paramref name="output"/> (not owned).</summary>
    public JsonDumpSink(Stream output)
    {
        _output = output;
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Indented = false });
    }

    public void BeginRecord() => _writer.WriteStartObject();

    public void EndRecord()
    {
        _writer.WriteEndObject();
        _writer.Flush();
        _output.Write(_buffer.WrittenSpan);
        _output.WriteByte((byte)'\n');
        _buffer.Clear();
        _writer.Reset();
    }

    public void String(string name, string value) => _writer.WriteString(name, value);

    public void Number(string name, long value) => _writer.WriteNumber(name, value);

    public void Number(string name, ulong value) => _writer.WriteNumber(name, value);

    public void Bool(string name, bool value) => _writer.WriteBoolean(name, value);

    public void BeginArray(string name) => _writer.WriteStartArray(name);

    public void EndArray() => _writer.WriteEndArray();

    public void BeginObject() => _writer.WriteStartObject();

    public void EndObject() => _writer.WriteEndObject();

    public void Flush() => _output.Flush();

    public void Dispose() => _writer.Dispose();
}
