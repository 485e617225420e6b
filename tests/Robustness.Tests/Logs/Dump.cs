using System.Text.Json;
using RaftKv.Robustness.Logs;

namespace RaftKv.Robustness.Tests.Logs;

/// <summary>
/// Writes the JSON lines of <c>raftkv wal dump --json</c> by hand, in the form the command prints (the CLI test in
/// RaftKv.Tests checks the real command against <see cref="CommittedLog"/>): a header, then one entry per index from
/// <c>snapshotIndex + 1</c>; entries above <c>commit</c> are uncommitted.
/// </summary>
internal sealed class Dump(ulong snapshotIndex, ulong commit)
{
    private readonly List<string> _entries = [];

    private ulong Next => snapshotIndex + (ulong)_entries.Count + 1;

    public Dump NoOp() => Add(new Dictionary<string, object> { ["command"] = "no-op" });

    public Dump Put(string key, string value) => Add(new Dictionary<string, object> { ["command"] = "put", ["key"] = key, ["value"] = value });

    public Dump CutPut(string key, string valuePrefix, int valueBytes) => Add(new Dictionary<string, object>
    {
        ["command"] = "put", ["key"] = key, ["value"] = valuePrefix, ["valueTruncated"] = true, ["valueBytes"] = valueBytes,
    });

    public Dump Base64Put(string key, string valueBase64) =>
        Add(new Dictionary<string, object> { ["command"] = "put", ["key"] = key, ["valueBase64"] = valueBase64 });

    public Dump Delete(string key) => Add(new Dictionary<string, object> { ["command"] = "delete", ["key"] = key });

    /// <summary>A compare-and-put as the traffic sends it: mod revision equal, then put.</summary>
    public Dump Cas(string key, long modRevision, string value) => Add(new Dictionary<string, object>
    {
        ["command"] = "txn",
        ["compare"] = new[] { new Dictionary<string, object> { ["key"] = key, ["target"] = "mod", ["result"] = "equal", ["modRevision"] = modRevision } },
        ["success"] = new[] { new Dictionary<string, object> { ["op"] = "put", ["key"] = key, ["value"] = value } },
        ["failure"] = Array.Empty<object>(),
    });

    public string Text
    {
        get
        {
            var last = snapshotIndex + (ulong)_entries.Count;
            var header = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["kind"] = "log", ["dir"] = "/data/member", ["snapshotIndex"] = snapshotIndex, ["snapshotTerm"] = snapshotIndex == 0 ? 0UL : 1UL,
                ["term"] = 2, ["vote"] = "0000000000000001", ["commit"] = commit, ["firstIndex"] = snapshotIndex + 1, ["lastIndex"] = last,
                ["entries"] = _entries.Count,
            });
            return string.Join('\n', new[] { header }.Concat(_entries)) + "\n";
        }
    }

    public CommittedLog Parse(string source = "A") => CommittedLog.Parse(new StringReader(Text), source);

    private Dump Add(Dictionary<string, object> command)
    {
        var index = Next;
        var record = new Dictionary<string, object>
        {
            ["kind"] = "entry", ["index"] = index, ["term"] = 2, ["type"] = "normal", ["committed"] = index <= commit,
        };
        foreach (var (name, value) in command) record[name] = value;
        _entries.Add(JsonSerializer.Serialize(record));
        return this;
    }
}
