using System.Globalization;
using System.Text;

namespace RaftKv.Cli.Wal;

/// <summary>
/// One line of text per record: <c>name=value</c> pairs, with the record kind, entry type, command and op names
/// bare, and <c>uncommitted</c> on entries after the commit index. Strings are quoted with <c>"</c> and <c>\</c>
/// escaped (they hold no control characters: <see cref="DumpBytes"/> gives base64 for those).
/// </summary>
internal sealed class TextDumpSink(TextWriter output) : IDumpSink
{
    private static readonly HashSet<string> BareNames = ["kind", "type", "command", "op"];

    private readonly StringBuilder _line = new(256);
    private readonly Stack<bool> _firstInArray = new();

    private string? _type;

    public void BeginRecord()
    {
        _line.Clear();
        _type = null;
    }

    public void EndRecord() => output.Write(_line.Append('\n'));

    public void String(string name, string value)
    {
        if (name == "kind" && value == "entry") return; // every other line is one: the kind is noise there
        if (name == "command" && value == _type) return; // "conf-change conf-change"
        if (name == "type") _type = value;
        if (BareNames.Contains(name)) Separate().Append(value);
        else Separate().Append(name).Append("=\"").Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
    }

    public void Number(string name, long value) => Separate().Append(name).Append('=').Append(value.ToString(CultureInfo.InvariantCulture));

    public void Number(string name, ulong value) => Separate().Append(name).Append('=').Append(value.ToString(CultureInfo.InvariantCulture));

    public void Bool(string name, bool value)
    {
        if (name == "committed")
        {
            if (!value) Separate().Append("uncommitted");
            return;
        }
        Separate().Append(name).Append('=').Append(value ? "true" : "false");
    }

    public void BeginArray(string name)
    {
        Separate().Append(name).Append("=[");
        _firstInArray.Push(true);
    }

    public void EndArray()
    {
        _firstInArray.Pop();
        _line.Append(']');
    }

    public void BeginObject()
    {
        if (!_firstInArray.Pop()) _line.Append(';');
        _firstInArray.Push(false);
        _line.Append('{');
    }

    public void EndObject() => _line.Append('}');

    public void Flush() => output.Flush();

    // A space before each field, except right after a record's, an array's or an object's start.
    private StringBuilder Separate()
    {
        if (_line.Length > 0 && _line[^1] is not ('[' or '{')) _line.Append(' ');
        return _line;
    }
}
