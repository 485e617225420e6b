using System.Text.Json;

namespace RaftKv.Robustness.Logs;

/// <summary>
/// What one member's log says about the puts in it, read from <c>raftkv wal dump --json</c> (one JSON object per
/// line: a <c>log</c> header, perhaps a <c>torn-tail</c> record, then an <c>entry</c> per index): every put with
/// its key, value and index, plain or inside a txn, committed or not; the committed plain puts per key; and where
/// the log starts (after a snapshot, or complete from index 1). Keys and values the dump showed in base64 are left
/// out (the robustness traffic writes text); values it cut are kept as prefixes, so a value is never said to be
/// absent when a cut one may be it.
/// </summary>
public sealed class CommittedLog
{
    /// <summary>Most lines <see cref="Parse"/> reads by default.</summary>
    public const int DefaultMaxLines = 10_000_000;

    /// <summary>Longest line <see cref="Parse"/> accepts (a dump's lines are bounded by its value bound).</summary>
    public const int MaxLineChars = 1 << 20;

    private readonly Dictionary<(string Key, string Value), LoggedPut> _puts = [];
    private readonly Dictionary<string, HashSet<string>> _committedPutValues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _cutValuePrefixes = new(StringComparer.Ordinal);

    private CommittedLog(string source) => Source = source;

    /// <summary>Which member's log this is (as the caller named it), for reports.</summary>
    public string Source { get; }

    /// <summary>The snapshot index the log starts after: 0 when it is complete from index 1.</summary>
    public ulong SnapshotIndex { get; private set; }

    /// <summary>The member's commit index (its hard state's).</summary>
    public ulong CommitIndex { get; private set; }

    /// <summary>The last index in the log (entries above <see cref="CommitIndex"/> are not known committed).</summary>
    public ulong LastIndex { get; private set; }

    /// <summary>Whether the dump found a torn last write (not part of the log).</summary>
    public bool HasTornTail { get; private set; }

    /// <summary>Whether no snapshot cut the log's head: every committed entry up to <see cref="CommitIndex"/> is here.</summary>
    public bool IsCompleteFromStart => SnapshotIndex == 0;

    /// <summary>The values of the committed plain puts, per key.</summary>
    public IReadOnlyDictionary<string, HashSet<string>> CommittedPutValues => _committedPutValues;

    /// <summary>Every put in the log, by key and value (the committed one first when a pair occurs twice).</summary>
    public IReadOnlyCollection<LoggedPut> Puts => _puts.Values;

    /// <summary>The put writing <paramref name="value"/> to <paramref name="key"/>, or null when the log has none.</summary>
    public LoggedPut? Find(string key, string value) => _puts.GetValueOrDefault((key, value));

    /// <summary>
    /// Whether the log may hold a put of <paramref name="value"/> to <paramref name="key"/>, committed or not: one
    /// was found, or a value the dump cut short begins like it.
    /// </summary>
    public bool MayHold(string key, string value) =>
        _puts.ContainsKey((key, value))
        || (_cutValuePrefixes.TryGetValue(key, out var prefixes) && prefixes.Any(p => value.StartsWith(p, StringComparison.Ordinal)));

    /// <summary>Reads a dump.</summary>
    /// <param name="dump">The dump's output, JSON lines.</param>
    /// <param name="source">The member's name, for reports.</param>
    /// <param name="maxLines">Most lines to read.</param>
    /// <exception cref="FormatException">The text is not such a dump (the message names the line).</exception>
    public static CommittedLog Parse(TextReader dump, string source, int maxLines = DefaultMaxLines)
    {
        ArgumentNullException.ThrowIfNull(dump);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLines);
        var log = new CommittedLog(source);
        var sawHeader = false;
        ulong previous = 0;
        var lineNumber = 0;
        while (dump.ReadLine() is { } line)
        {
            if (++lineNumber > maxLines) throw new FormatException($"{source}: more than {maxLines} lines");
            if (line.Length > MaxLineChars) throw new FormatException($"{source} line {lineNumber}: longer than {MaxLineChars} characters");
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 32 });
                log.ReadRecord(doc.RootElement, ref sawHeader, ref previous);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new FormatException($"{source} line {lineNumber}: not a wal dump record ({e.Message})", e);
            }
        }
        if (!sawHeader) throw new FormatException($"{source}: no log header (is this the output of 'raftkv wal dump --json'?)");
        if (previous != log.LastIndex) throw new FormatException($"{source}: the header says the log ends at {log.LastIndex}, the entries end at {previous}");
        return log;
    }

    // One line; previous is the index of the last entry read (the snapshot's before the first).
    private void ReadRecord(JsonElement record, ref bool sawHeader, ref ulong previous)
    {
        switch (record.GetProperty("kind").GetString())
        {
            case "log":
                if (sawHeader) throw new FormatException("a second log header");
                ReadHeader(record);
                previous = SnapshotIndex;
                sawHeader = true;
                break;
            case "torn-tail":
                HasTornTail = true;
                break;
            case "entry":
                if (!sawHeader) throw new FormatException("an entry before the log header");
                var index = record.GetProperty("index").GetUInt64();
                if (index != previous + 1) throw new FormatException($"entry {index} after {previous}: the dump has a gap");
                previous = index;
                ReadEntry(record, index);
                break;
            default:
                break; // a record kind added later: nothing here depends on it
        }
    }

    private void ReadHeader(JsonElement record)
    {
        SnapshotIndex = record.GetProperty("snapshotIndex").GetUInt64();
        CommitIndex = record.GetProperty("commit").GetUInt64();
        LastIndex = record.GetProperty("lastIndex").GetUInt64();
    }

    private void ReadEntry(JsonElement record, ulong index)
    {
        var committed = record.GetProperty("committed").GetBoolean();
        if (!record.TryGetProperty("command", out var command)) return;
        switch (command.GetString())
        {
            case "put":
                AddPut(record, index, committed, inTxn: false);
                break;
            case "txn":
                AddTxnPuts(record, index, committed);
                break;
            default:
                break; // deletes, leases, compactions: no value to find
        }
    }

    private void AddTxnPuts(JsonElement txn, ulong index, bool committed)
    {
        foreach (var branch in new[] { "success", "failure" })
        {
            if (!txn.TryGetProperty(branch, out var ops)) continue;
            foreach (var op in ops.EnumerateArray())
            {
                switch (op.GetProperty("op").GetString())
                {
                    case "put":
                        AddPut(op, index, committed, inTxn: true);
                        break;
                    case "txn":
                        AddTxnPuts(op, index, committed);
                        break;
                    default:
                        break;
                }
            }
        }
    }

    private void AddPut(JsonElement put, ulong index, bool committed, bool inTxn)
    {
        if (!put.TryGetProperty("key", out var keyText) || put.TryGetProperty("keyTruncated", out _)) return; // not a key the traffic writes
        var key = keyText.GetString()!;
        if (!put.TryGetProperty("value", out var valueText)) return; // base64: not text the traffic writes
        var value = valueText.GetString()!;
        if (put.TryGetProperty("valueTruncated", out _))
        {
            if (!_cutValuePrefixes.TryGetValue(key, out var prefixes)) _cutValuePrefixes[key] = prefixes = [];
            prefixes.Add(value);
            return;
        }
        var logged = new LoggedPut(index, key, value, committed, inTxn);
        if (!_puts.TryGetValue((key, value), out var existing) || (!existing.Committed && committed)) _puts[(key, value)] = logged;
        if (!committed || inTxn) return;
        if (!_committedPutValues.TryGetValue(key, out var values)) _committedPutValues[key] = values = new HashSet<string>(StringComparer.Ordinal);
        values.Add(value);
    }
}
