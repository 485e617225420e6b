using System.Text;
using Google.Protobuf;
using RaftKv.Kv;

namespace RaftKv.Http.Observe;

/// <summary>Short, printable descriptions of log entries' commands for the dashboard's log tail.</summary>
public static class CommandText
{
    /// <summary>Longest key or value shown.</summary>
    public const int MaxShown = 40;

    /// <summary>The kind and a short description of an entry's data.</summary>
    public static (string Type, string Payload) Describe(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return ("no-op", "new leader's empty entry");
        KvCommand command;
        try
        {
            command = KvCommand.Parser.ParseFrom(data);
        }
        catch (InvalidProtocolBufferException)
        {
            return ("unknown", $"{data.Length} bytes");
        }
        return command.RequestCase switch
        {
            KvCommand.RequestOneofCase.Put => ("put", $"{Show(command.Put.Key)} = {Show(command.Put.Value)}"),
            KvCommand.RequestOneofCase.DeleteRange => ("delete", Range(command.DeleteRange.Key, command.DeleteRange.RangeEnd)),
            KvCommand.RequestOneofCase.Range => ("range", Range(command.Range.Key, command.Range.RangeEnd)),
            KvCommand.RequestOneofCase.Txn => ("txn", $"{command.Txn.Compare.Count} compares, {command.Txn.Success.Count} then, {command.Txn.Failure.Count} else"),
            KvCommand.RequestOneofCase.Compaction => ("compact", $"revision {command.Compaction.Revision}"),
            KvCommand.RequestOneofCase.Alarm => ("alarm", $"{command.Alarm.Action.ToString().ToLowerInvariant()} {command.Alarm.Alarm.ToString().ToLowerInvariant()}"),
            _ => ("unknown", $"{data.Length} bytes"),
        };
    }

    private static string Range(ByteString key, ByteString end)
    {
        if (end.IsEmpty) return Show(key);
        if (end.Length == 1 && end[0] == 0) return $"{Show(key)} and above";
        return $"[{Show(key)}, {Show(end)})";
    }

    /// <summary>UTF-8 text with control characters escaped, cut to <see cref="MaxShown"/> characters.</summary>
    public static string Show(ByteString bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var span = bytes.Span;
        var cut = span.Length > MaxShown * 4 ? span[..(MaxShown * 4)] : span;
        var text = Encoding.UTF8.GetString(cut);
        var builder = new StringBuilder(Math.Min(text.Length, MaxShown) + 8);
        foreach (var c in text)
        {
            if (builder.Length >= MaxShown)
            {
                builder.Append('…');
                return builder.ToString();
            }
            if (char.IsControl(c)) builder.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            else builder.Append(c);
        }
        if (cut.Length < span.Length) builder.Append('…');
        return builder.ToString();
    }
}
